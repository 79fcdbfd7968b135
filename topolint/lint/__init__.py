"""The lint pipeline: read a file (loader, schema), model it (model, units), wire it
(graph), run the rules (engine, rule, context) into findings, with configuration and fixes.
"""
