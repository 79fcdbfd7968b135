"""End-of-data rules (TL6, problem 5 of the talk): does every run end, and end cleanly?

How these rules read a topology (SPEC §1):

* ``runs: finite`` (the default) means the run ends and end-of-data must reach every sink;
  ``runs: continuous`` silences every rule here except ``shutdown-hang``.
* A process's ``end_of_data`` is ``emit`` (it originates end-of-data), ``forward`` (it passes
  end-of-data on once it has received it from its producers), ``consume`` (it ends on
  end-of-data and sends none) or ``none``; a process that declares nothing is treated as
  ``none``.  ``wait_for`` (``all`` by default, ``any`` or a count) says how many upstream
  signals it waits for; producers are counted per instance (replicas and fan-in count).
* End-of-data leaves a process on its sockets that declare ``carries: [end-of-data]`` (a
  dedicated control socket, or ``[data, end-of-data]``) when it has any; otherwise on its data
  outputs, except those that declare ``carries: [data]``.
* ``lifecycle: persistent`` processes are reused across runs; ``on_start: [drain]`` empties
  their queues before a new run starts.

The shared model (which connections carry end-of-data, who waits for how many signals, how
far end-of-data propagates) lives in :mod:`._model`; each rule is one module.
"""
