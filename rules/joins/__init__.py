"""Join rules (problem 3 of the talk): processes that combine several input streams.

What counts as a join: a process whose data inputs are two or more receiving data sockets
with incoming connections, or one receiving socket fed by several different streams
(connections carrying two or more different declared message types). Replicas of one stage
feeding one PULL, or several producers of the same message type, are a plain fan-in, not a
join; request servers (REP, ROUTER) and CONFLATE sockets (latest state) are side inputs. A
declared ``join: {inputs: [...]}`` names the input sockets explicitly.

The branch analysis (:mod:`._branches`) finds, for each join, the fan-out where its inputs'
paths separate — the nearest common dominator of the upstream processes in the data-flow
graph — and compares the branches by latency, rate, buffering, loss and reordering, using
one dominator tree and a few dynamic programs over the whole graph (near-linear).
"""
