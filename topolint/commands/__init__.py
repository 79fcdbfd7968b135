"""The products built on the lint pipeline and the analyses, one module per command:
check, diff, render (the click front-end is topolint.cli).
"""
