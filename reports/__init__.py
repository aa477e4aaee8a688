"""Print renderers (reportlab) and templates (jinja2) for notices and ledgers, and the fonts they embed."""
