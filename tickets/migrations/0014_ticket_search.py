# Staff's full-text search (issue 12, part 3): the TicketSearch table, pg_trgm, the GIN indexes,
# the triggers that keep each ticket's row current, and the backfill of existing tickets.
#
# PostgreSQL only, past the table itself: every operation below checks the connection's vendor,
# so `make run` on the embedded SQLite migrates as before (its search is a simpler fallback,
# tickets.selectors.ticket_search).

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

# Above this many tickets the migration leaves the backfill to
# `manage.py ticket_search_rebuild`, which commits batch by batch while the site runs (README).
BACKFILL_IN_MIGRATION_MAX = 200_000
BATCH = 5_000

# Each text is cut to 10,000 characters and a ticket's messages, rebuilt together, to 100,000:
# a reply adds a bounded vector, and no document nears tsvector's 1 MB limit (the append below
# also gives up quietly if one ever does, rather than refusing the reply).
FORWARD_SQL = r"""
CREATE OR REPLACE FUNCTION tickets_search_vector(body text, weight "char")
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(
    to_tsvector('pg_catalog.italian'::regconfig, left(coalesce(body, ''), 10000))
    || to_tsvector('pg_catalog.english'::regconfig, left(coalesce(body, ''), 10000)),
    weight)
$$;

-- A file name as words too: "KESS_log-2024.txt" is also "KESS log 2024 txt".
CREATE OR REPLACE FUNCTION tickets_search_file_text(name text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT name || ' ' || regexp_replace(name, '[^[:alnum:]]+', ' ', 'g')
$$;

CREATE OR REPLACE FUNCTION tickets_search_ticket_vector(t tickets_ticket)
RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT tickets_search_vector(t.subject, 'A')
    || tickets_search_vector(concat_ws(' ',
         left(t.description, 10000), left(t.error_message, 10000), left(t.operations, 10000),
         t.vehicle_description, t.vehicle_identification, t.ecu_description,
         t.ecu_identification, t.serial_number), 'B')
$$;

-- The customer's code is copied: it is the vendor's and never changes once given.
CREATE OR REPLACE FUNCTION tickets_search_codes(t tickets_ticket)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT upper(concat_ws(' ', t.serial_number,
    (SELECT c.code FROM customers_customer c WHERE c.id = t.customer_id),
    t.vehicle_identification, t.ecu_identification))
$$;

-- The whole row of each ticket whose id is in [first_id, last_id]: the backfill, and a ticket
-- whose own text changed. Returns the number of rows written.
CREATE OR REPLACE FUNCTION tickets_search_rebuild(first_id bigint, last_id bigint)
RETURNS integer LANGUAGE sql AS $$
  WITH written AS (
    INSERT INTO tickets_ticketsearch (ticket_id, document, codes)
    SELECT t.id,
      tickets_search_ticket_vector(t)
      || tickets_search_vector((
           SELECT left(string_agg(left(e.body, 10000), ' ' ORDER BY e.created_at, e.id), 100000)
           FROM tickets_ticketevent e
           WHERE e.ticket_id = t.id AND e.body <> '' AND e.kind <> 'target_warning'), 'C')
      || tickets_search_vector((
           SELECT string_agg(tickets_search_file_text(a.original_name), ' ' ORDER BY a.id)
           FROM tickets_attachment a WHERE a.ticket_id = t.id), 'D'),
      tickets_search_codes(t)
    FROM tickets_ticket t
    WHERE t.id BETWEEN first_id AND last_id
    ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document, codes = EXCLUDED.codes
    RETURNING 1
  )
  SELECT count(*)::integer FROM written
$$;

-- A message or a file adds its words to the ticket's row: the cost of a reply is the size of
-- the reply, not of the ticket's history.
CREATE OR REPLACE FUNCTION tickets_search_append(target bigint, addition tsvector)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE tickets_ticketsearch SET document = coalesce(document, ''::tsvector) || addition
  WHERE ticket_id = target;
EXCEPTION WHEN program_limit_exceeded THEN
  -- A document at tsvector's limit keeps what it has; the message itself is saved.
  NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_search_ticket_trigger()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO tickets_ticketsearch (ticket_id, document, codes)
    VALUES (NEW.id, tickets_search_ticket_vector(NEW), tickets_search_codes(NEW))
    ON CONFLICT (ticket_id) DO NOTHING;
  ELSE
    PERFORM tickets_search_rebuild(NEW.id, NEW.id);
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_search_event_trigger()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM tickets_search_append(NEW.ticket_id, tickets_search_vector(NEW.body, 'C'));
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_search_attachment_trigger()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM tickets_search_append(
    NEW.ticket_id, tickets_search_vector(tickets_search_file_text(NEW.original_name), 'D'));
  RETURN NULL;
END
$$;

CREATE TRIGGER tickets_search_ticket_insert
  AFTER INSERT ON tickets_ticket
  FOR EACH ROW EXECUTE FUNCTION tickets_search_ticket_trigger();

-- Django's save() without update_fields sets every column: only a real change rebuilds.
CREATE TRIGGER tickets_search_ticket_update
  AFTER UPDATE ON tickets_ticket
  FOR EACH ROW
  WHEN ((OLD.subject, OLD.description, OLD.error_message, OLD.operations,
         OLD.vehicle_description, OLD.vehicle_identification, OLD.ecu_description,
         OLD.ecu_identification, OLD.serial_number, OLD.customer_id)
        IS DISTINCT FROM
        (NEW.subject, NEW.description, NEW.error_message, NEW.operations,
         NEW.vehicle_description, NEW.vehicle_identification, NEW.ecu_description,
         NEW.ecu_identification, NEW.serial_number, NEW.customer_id))
  EXECUTE FUNCTION tickets_search_ticket_trigger();

-- Every event with text: customers' and operators' messages, internal notes (staff search may
-- show them: staff read them on the ticket page), closing remarks; not the beat's service-target
-- warnings, which say nothing of the problem.
CREATE TRIGGER tickets_search_event_insert
  AFTER INSERT ON tickets_ticketevent
  FOR EACH ROW WHEN (NEW.body <> '' AND NEW.kind <> 'target_warning')
  EXECUTE FUNCTION tickets_search_event_trigger();

-- A file is inserted with its ticket (a form sent in one go) or staged first and given its
-- ticket later by an UPDATE (tickets.attachments.attachments_attach).
CREATE TRIGGER tickets_search_attachment_insert
  AFTER INSERT ON tickets_attachment
  FOR EACH ROW WHEN (NEW.ticket_id IS NOT NULL)
  EXECUTE FUNCTION tickets_search_attachment_trigger();

CREATE TRIGGER tickets_search_attachment_attach
  AFTER UPDATE OF ticket_id ON tickets_attachment
  FOR EACH ROW WHEN (NEW.ticket_id IS NOT NULL AND OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
  EXECUTE FUNCTION tickets_search_attachment_trigger();

CREATE INDEX ticket_search_document_idx ON tickets_ticketsearch USING gin (document);
CREATE INDEX ticket_search_codes_trgm_idx ON tickets_ticketsearch USING gin (codes gin_trgm_ops);
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS tickets_search_attachment_attach ON tickets_attachment;
DROP TRIGGER IF EXISTS tickets_search_attachment_insert ON tickets_attachment;
DROP TRIGGER IF EXISTS tickets_search_event_insert ON tickets_ticketevent;
DROP TRIGGER IF EXISTS tickets_search_ticket_update ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_search_ticket_insert ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_search_attachment_trigger();
DROP FUNCTION IF EXISTS tickets_search_event_trigger();
DROP FUNCTION IF EXISTS tickets_search_ticket_trigger();
DROP FUNCTION IF EXISTS tickets_search_append(bigint, tsvector);
DROP FUNCTION IF EXISTS tickets_search_rebuild(bigint, bigint);
DROP FUNCTION IF EXISTS tickets_search_codes(tickets_ticket);
DROP FUNCTION IF EXISTS tickets_search_ticket_vector(tickets_ticket);
DROP FUNCTION IF EXISTS tickets_search_file_text(text);
DROP FUNCTION IF EXISTS tickets_search_vector(text, "char");
DROP INDEX IF EXISTS ticket_search_codes_trgm_idx;
DROP INDEX IF EXISTS ticket_search_document_idx;
"""


def trigram_extension_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def search_sql_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD_SQL)


def search_sql_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL)


def search_backfill(apps, schema_editor):
    """Write the search row of every existing ticket, in batches of ids."""
    if schema_editor.connection.vendor != "postgresql":
        return
    Ticket = apps.get_model("tickets", "Ticket")
    bounds = Ticket.objects.aggregate(low=models.Min("id"), high=models.Max("id"))
    if bounds["low"] is None:
        return
    if Ticket.objects.count() > BACKFILL_IN_MIGRATION_MAX:
        print(
            "\n  Ticket search: too many tickets to index inside the migration; run "
            "`manage.py ticket_search_rebuild` now (new tickets and replies are indexed "
            "already)."
        )
        return
    with schema_editor.connection.cursor() as cursor:
        for first in range(bounds["low"], bounds["high"] + 1, BATCH):
            cursor.execute("SELECT tickets_search_rebuild(%s, %s)", [first, first + BATCH - 1])


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0013_canned_answers'),
    ]

    operations = [
        # Not django.contrib.postgres's TrigramExtension: its reverse queries pg_extension on
        # SQLite too. Unapplied, the extension stays: other objects may have come to use it.
        migrations.RunPython(trigram_extension_create, migrations.RunPython.noop),
        migrations.CreateModel(
            name='TicketSearch',
            fields=[
                ('ticket', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='search', serialize=False, to='tickets.ticket', verbose_name='ticket')),
                ('document', django.contrib.postgres.search.SearchVectorField(null=True, verbose_name='search document')),
                ('codes', models.TextField(blank=True, default='', verbose_name='codes')),
            ],
            options={
                'verbose_name': 'ticket search document',
                'verbose_name_plural': 'ticket search documents',
            },
        ),
        migrations.RunPython(search_sql_create, search_sql_drop),
        migrations.RunPython(search_backfill, migrations.RunPython.noop),
    ]
