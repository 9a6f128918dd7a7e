"""Operator commands: ``flask --app wsgi <command>``."""
from __future__ import annotations

import click
from flask import Flask

from app.services import demo


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data is already there.")
    def seed_demo_command(if_empty: bool) -> None:
        """Load the demo data set: departments, subjects, 1,000 records, cases, one account per role."""
        if demo.has_data():
            if if_empty:
                click.echo("demo data: database already holds data, nothing loaded")
                return
            raise click.ClickException("the database already holds data; demo data goes into an empty one")
        counts = demo.seed_demo()
        click.echo("demo data loaded: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        click.echo("demo accounts (user name / password):")
        for account in demo.DEMO_ACCOUNTS:
            click.echo(f"  {account.role:<11} {account.username:<11} {account.password}")
