"""PostgreSQL: consent events and their audit records appended in one statement, from the
head locks to the heads' move (``store.ledger.append_consents_at_once``)

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Each row of ``events`` is a consent event's columns, its audit record's, and the pieces of
# both canonical payloads (``store.ledger.canonical_pieces``): the event's around its previous
# hash, the audit record's around the event's id and its previous hash. Under the heads' locks
# the function checks what the events name (an account, a purpose, a collaborator) and that no
# external id is recorded yet, then chains the rows in the order given, each event followed by
# its audit record. When a check fails, or a chain has no head yet (its first append), nothing
# is written and no row returned: the caller takes the locking way, which answers each write
# (sent before, refused) and creates the heads.
APPEND_CONSENTS = """
CREATE FUNCTION consentry_append_consents(events jsonb)
RETURNS TABLE (event_id bigint, event_prev_hash text, event_hash text, account_ordinal bigint)
LANGUAGE plpgsql AS $$
DECLARE
  e record;
  consent_prev text;
  audit_prev text;
  audit_id bigint;
BEGIN
  IF jsonb_array_length(events) = 0 THEN
    RETURN;
  END IF;
  -- consent first, then audit: the order every appender locks the heads in
  SELECT h.last_hash INTO consent_prev FROM ledger_heads h WHERE h.chain = 'consent' FOR UPDATE;
  SELECT h.last_hash INTO audit_prev FROM ledger_heads h WHERE h.chain = 'audit' FOR UPDATE;
  IF consent_prev IS NULL OR audit_prev IS NULL THEN
    RETURN;
  END IF;
  -- row by row, each an index lookup (a set-wise anti-join of the estimated 100 rows read
  -- whole tables)
  FOR e IN
    SELECT * FROM jsonb_to_recordset(events)
      AS r(account_id text, purpose text, collaborator_id text, external_id text)
  LOOP
    IF NOT EXISTS (SELECT FROM accounts a WHERE a.id = e.account_id)
      OR NOT EXISTS (SELECT FROM purposes p WHERE p.key = e.purpose)
      OR (e.collaborator_id IS NOT NULL
          AND NOT EXISTS (SELECT FROM collaborators c WHERE c.id = e.collaborator_id))
      OR (e.external_id IS NOT NULL
          AND EXISTS (SELECT FROM consent_events x WHERE x.external_id = e.external_id))
    THEN
      RETURN;
    END IF;
  END LOOP;
  FOR e IN
    SELECT * FROM jsonb_to_recordset(events) AS r(
      account_id text, purpose text, collaborator_id text,
      decision text, source text, policy_version text, effective_at timestamptz,
      recorded_at timestamptz, external_id text, pieces text[],
      at timestamptz, actor text, action text, object_type text, object_id text,
      details jsonb, audit_pieces text[])
  LOOP
    SELECT a.ordinal INTO account_ordinal FROM accounts a WHERE a.id = e.account_id;
    event_prev_hash := consent_prev;
    event_hash := encode(
      sha256(convert_to(e.pieces[1] || consent_prev || e.pieces[2], 'UTF8')), 'hex');
    INSERT INTO consent_events (
      account_id, account_ordinal, purpose, collaborator_id, decision, source,
      policy_version, effective_at, recorded_at, external_id, prev_hash, hash)
    VALUES (
      e.account_id, account_ordinal, e.purpose, e.collaborator_id, e.decision, e.source,
      e.policy_version, e.effective_at, e.recorded_at, e.external_id, consent_prev, event_hash)
    RETURNING consent_events.id INTO event_id;
    consent_prev := event_hash;
    INSERT INTO audit_events (
      at, actor, action, object_type, object_id, details, prev_hash, hash)
    VALUES (
      e.at, e.actor, e.action, e.object_type, e.object_id,
      jsonb_set(e.details, '{event_id}', to_jsonb(event_id))::json, audit_prev,
      encode(sha256(convert_to(
        e.audit_pieces[1] || event_id::text || e.audit_pieces[2] || audit_prev
        || e.audit_pieces[3], 'UTF8')), 'hex'))
    RETURNING audit_events.id, audit_events.hash INTO audit_id, audit_prev;
    RETURN NEXT;
  END LOOP;
  UPDATE ledger_heads SET last_id = event_id, last_hash = consent_prev WHERE chain = 'consent';
  UPDATE ledger_heads SET last_id = audit_id, last_hash = audit_prev WHERE chain = 'audit';
END;
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_CONSENTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS consentry_append_consents(jsonb)")
