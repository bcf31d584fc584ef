"""search at a million documents: word prefixes and access keys in one text index

Two stored columns beside `documents.search_vector`, and one GIN index over the three, so a
single index scan intersects them:

- `search_prefixes`: every word's beginnings of 2 to 16 letters, the word itself included
  ("quyet" gives qu, quy, quye, quyet). The word still being typed ("bao cao quy") is looked up
  as one exact key instead of a prefix match, which PostgreSQL's text index answers by merging
  the posting lists of every word with that beginning: 44 ms for "quy:*" at a million documents
  against 13 ms as an exact key.
- `access_keys`: who a document is given to, as integers: each assignee's user id, and minus
  the id of each unit it was given to or belongs to (`documents.queries.access_keys`). A
  specialist or a unit head's search then asks the text index for their documents alone, instead
  of checking each match of a common word against the assignments (the busiest specialist's
  "ngân sách": 153 ms before, 16 ms after, bench/bench_search.py). Kept by triggers on
  `documents` and `assignments`, so every way a row is written (the app, bulk loads, SQL by
  hand) keeps them right; the search still applies the scope itself, so keys that were ever
  wrong could hide a document, never show one.

SQLite keeps its FTS5 table; none of this exists there.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# One statement each: asyncpg prepares what it runs, and a prepared statement holds one.
# search_prefixes keeps word beginnings of 2 to 16 letters (`documents.search._KEPT_BEGINNING`);
# a longer last word is matched as a prefix of the vector.
FUNCTIONS = (
    """
    CREATE FUNCTION search_prefixes(body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT coalesce(array_to_tsvector(array_agg(DISTINCT left(w, n))), ''::tsvector)
      FROM unnest(tsvector_to_array(to_tsvector('simple', body))) AS w,
           generate_series(2, least(length(w), 16)) AS n
    $$
    """,
    """
    -- VOLATILE, so that it reads the assignments with a snapshot of its own: a trigger's UPDATE
    -- that waited for another transaction's lock on the document row must see that
    -- transaction's assignments, which the UPDATE's own snapshot, taken before the wait, does not.
    CREATE FUNCTION document_access_keys(doc_id integer, doc_unit integer) RETURNS integer[]
    LANGUAGE sql VOLATILE AS $$
      SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{}') FROM (
        SELECT user_id FROM assignments WHERE document_id = doc_id
        UNION ALL SELECT -unit_id FROM assignments WHERE document_id = doc_id
        UNION ALL SELECT -doc_unit
      ) AS keys(k) WHERE k IS NOT NULL
    $$
    """,
    """
    CREATE FUNCTION documents_set_access_keys() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      NEW.access_keys := document_access_keys(NEW.id, NEW.unit_id);
      RETURN NEW;
    END
    $$
    """,
    """
    -- One statement's assignments at a time (a bulk load of a million is one UPDATE); a document
    -- is written only when its keys change, not for every progress report on its assignments.
    CREATE FUNCTION assignments_refresh_access_keys() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        UPDATE documents d SET access_keys = document_access_keys(d.id, d.unit_id)
        WHERE d.id IN (SELECT document_id FROM new_rows)
          AND d.access_keys IS DISTINCT FROM document_access_keys(d.id, d.unit_id);
      ELSIF TG_OP = 'DELETE' THEN
        UPDATE documents d SET access_keys = document_access_keys(d.id, d.unit_id)
        WHERE d.id IN (SELECT document_id FROM old_rows)
          AND d.access_keys IS DISTINCT FROM document_access_keys(d.id, d.unit_id);
      ELSE
        UPDATE documents d SET access_keys = document_access_keys(d.id, d.unit_id)
        WHERE d.id IN (
            SELECT unnest(ARRAY[o.document_id, n.document_id])
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.document_id, o.user_id, o.unit_id)
                  IS DISTINCT FROM (n.document_id, n.user_id, n.unit_id))
          AND d.access_keys IS DISTINCT FROM document_access_keys(d.id, d.unit_id);
      END IF;
      RETURN NULL;
    END
    $$
    """,
)

TRIGGERS = (
    """
    CREATE TRIGGER documents_access_keys BEFORE INSERT OR UPDATE OF unit_id ON documents
      FOR EACH ROW EXECUTE FUNCTION documents_set_access_keys()
    """,
    """
    CREATE TRIGGER assignments_access_keys_insert AFTER INSERT ON assignments
      REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION assignments_refresh_access_keys()
    """,
    """
    CREATE TRIGGER assignments_access_keys_update AFTER UPDATE ON assignments
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION assignments_refresh_access_keys()
    """,
    """
    CREATE TRIGGER assignments_access_keys_delete AFTER DELETE ON assignments
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION assignments_refresh_access_keys()
    """,
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in FUNCTIONS:
        op.execute(statement)
    # Rewrites the table once (about two minutes per million documents), as 0018 did.
    op.execute(
        "ALTER TABLE documents "
        "ADD COLUMN search_prefixes tsvector "
        "GENERATED ALWAYS AS (search_prefixes(search_text)) STORED, "
        "ADD COLUMN access_keys integer[] NOT NULL DEFAULT '{}'"
    )
    # The planner's estimate for a beginning missing from the column's statistics comes from the
    # rarest one kept: with the default target (100), a word no document has looked common
    # enough to read the date index for, spending the search's budget there (37 ms at a million
    # documents); with 500, 3 ms, and the other searches ran a few ms faster. ANALYZE of the
    # table: 0.6 s before, 3.0 s after (2,000: 11.3 s, no faster searches).
    op.execute("ALTER TABLE documents ALTER COLUMN search_prefixes SET STATISTICS 500")
    op.execute(
        "UPDATE documents SET access_keys = document_access_keys(id, unit_id) "
        "WHERE unit_id IS NOT NULL OR id IN (SELECT document_id FROM assignments)"
    )
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(
        "CREATE INDEX ix_documents_search_keys ON documents "
        "USING gin (search_vector, search_prefixes, access_keys)"
    )
    op.execute("DROP INDEX ix_documents_search_vector")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_documents_search_vector ON documents USING gin (search_vector)")
    op.execute("DROP INDEX ix_documents_search_keys")
    for trigger, table in (
        ("documents_access_keys", "documents"),
        ("assignments_access_keys_insert", "assignments"),
        ("assignments_access_keys_update", "assignments"),
        ("assignments_access_keys_delete", "assignments"),
    ):
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("ALTER TABLE documents DROP COLUMN search_prefixes, DROP COLUMN access_keys")
    op.execute("DROP FUNCTION assignments_refresh_access_keys()")
    op.execute("DROP FUNCTION documents_set_access_keys()")
    op.execute("DROP FUNCTION document_access_keys(integer, integer)")
    op.execute("DROP FUNCTION search_prefixes(text)")
