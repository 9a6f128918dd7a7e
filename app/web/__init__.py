"""Blueprints, one per audience. Views are thin: load, authorise, validate, call a service, render."""
