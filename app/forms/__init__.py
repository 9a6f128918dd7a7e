"""WTForms forms, one module per blueprint; shared validators in ``validators``."""
