"""The collaborator's side: keep a verified local copy of your deliveries and honour deletion
notices (``consentry collab sync``, also installed as ``consentry-collab``).

``DATA/`` holds one directory per delivery, as signed, plus ``state.json``. Decisions:

- A delivery is downloaded into ``DATA/.<id>.partial/``, checked (every file against the API's
  SHA-256 while streaming, then ``verify_delivery``: signature, shard hashes, counts) and only
  then renamed to ``DATA/<id>/``; on any mismatch the partial directory is removed and the
  delivery refused. The API serves no Croissant file or datasheet, so those signed documents
  may be absent. The signing key is the one passed with ``--public-key``; without it, the key
  of the first verified delivery is pinned in ``state.json`` and later deliveries must match.
- A deletion notice is applied by rewriting each affected shard without its records (row
  order and schema kept; temp file, fsync, rename). The signed ``manifest.json`` and
  ``manifest.sig`` are kept as delivered: they prove what the platform sent. What changed is
  recorded beside them: ``deletions.jsonl`` (one line per rewrite: notice, shard, rows and
  hashes before and after) and ``applied-notices.json`` (each rewritten shard's current
  SHA-256, size, rows and notices). ``consentry verify`` reads the latter, checks those shards
  against it and explains the difference in a note; the platform holds the same hashes in the
  acknowledgement, which makes the local record checkable from outside.
- ``state.json`` (temp + fsync + rename) holds the notice cursor (every notice up to it is
  applied), the notice being applied (so a crash mid-notice is reconciled on the next run),
  and the notices applied but not yet acknowledged with their acknowledgement bodies: an
  acknowledgement is sent only after the rewrite is on disk, and a crash before it is sent
  leads to it being sent on the next run (409, already acknowledged, counts as done).
- A delivery downloaded after notices were applied (a first download that failed before, say)
  gets the earlier notices applied too, before it counts as held.
"""
