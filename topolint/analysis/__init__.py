"""Analyses shared by rules and commands: queue bounds (queue_model), throughput, latency
and memory (performance), join branches, the end-of-data model, hosts, start-up loss
tolerance, and message contracts.
"""
