"""Meta rules: about topolint's own annotations in a file (run after every other rule)."""
