"""Start-up rules (problem 1 of the talk): data lost before subscribers are connected.

A SUB only receives what a PUB sends after the subscription has travelled back to the
publisher; these rules check that publishers of streams that must not lose messages
declare a start-up synchronisation that proves it (``sync:`` on the socket).
"""
