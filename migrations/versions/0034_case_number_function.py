"""Case numbers drawn inside the case's own INSERT (issue 16, item 5), PostgreSQL only.

``case_number_next(kind, year, prefix)`` returns the next number of the kind and year, e.g.
``YY-2026-000042``, from the sequence ``case_number_<kind>_<year>`` (migration 0022), creating
the sequence for a year's first case. A submission puts the call in the INSERT of the case and
reads the number back with RETURNING: one round trip less than asking for it first. Two first
cases of a year at once: the second waits for the first's commit, is refused the name (a
unique violation, caught in the function's own subtransaction) and draws from the sequence the
first created. SQLite keeps its counter rows (one writer at a time anyway).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-02
"""
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

FUNCTION = r"""
CREATE OR REPLACE FUNCTION case_number_next(case_kind text, case_year integer, prefix text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    sequence_name text := 'case_number_' || case_kind || '_' || case_year;
    n bigint;
BEGIN
    IF to_regclass(sequence_name) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', sequence_name);
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            NULL;  -- created by a transaction that committed meanwhile
        END;
    END IF;
    n := nextval(sequence_name::regclass);
    RETURN prefix || '-' || case_year || '-' || lpad(n::text, greatest(6, length(n::text)), '0');
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS case_number_next(text, integer, text)")
