-- Tiedolla warehouse, migration 1: series with every revision, their vintages, fetch status and documents.
-- Applied by `python -m sources migrate` (PostgresWarehouse.migrate) in one transaction; never edit an applied
-- migration, add the next numbered file instead.

-- One warehouse-wide counter: vintage ids of series and documents increase in commit order (writers take a lock
-- before drawing from it, see sources/warehouse_pg.py).
CREATE SEQUENCE vintage_ids AS bigint;

-- A series' description (SeriesInfo as JSON) and the provenance and time of its latest change.
CREATE TABLE series (
    id          text COLLATE "C" PRIMARY KEY,
    info        jsonb NOT NULL,
    provenance  jsonb NOT NULL,
    written_at  timestamptz NOT NULL
);

-- Every change of a series or document. `series` is a series id or `document:<name>`.
CREATE TABLE vintages (
    id            bigint PRIMARY KEY,
    series        text COLLATE "C" NOT NULL,
    created_at    timestamptz NOT NULL,
    fetched_at    text,
    data_updated  text,
    content_hash  text NOT NULL,
    new           integer NOT NULL,
    changed       integer NOT NULL,
    withdrawn     integer NOT NULL,
    rows          integer NOT NULL,
    source        text NOT NULL DEFAULT '',
    provenance    jsonb NOT NULL
);
CREATE INDEX vintages_by_series ON vintages (series, id);

-- Every revision of every value: valid from the vintage that wrote it until the vintage that replaced or withdrew
-- it (NULL while current). A NULL value is a value the publisher gives as missing. `series` has no foreign key on
-- purpose: its per-row check doubled the time of a large write; the writing transaction stores the series first.
CREATE TABLE observations (
    series      text COLLATE "C" NOT NULL,
    region      text COLLATE "C" NOT NULL,
    period      text COLLATE "C" NOT NULL,
    value       double precision,
    valid_from  bigint NOT NULL,
    valid_to    bigint,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
-- Current rows: at most one per region and period of a series; serves the latest read and a write's retirements.
CREATE UNIQUE INDEX observations_current ON observations (series, region, period) WHERE valid_to IS NULL;
-- Retired rows, for reads as of a vintage and for dumps. Partial like the current index, so a row enters one index
-- when written and one when retired (an index over all rows would take every row twice more).
CREATE INDEX observations_retired ON observations (series, valid_to) WHERE valid_to IS NOT NULL;

-- Per series or document: last success, last attempt, last error (the keys of the local store's status.json).
CREATE TABLE status (
    key    text COLLATE "C" PRIMARY KEY,
    entry  jsonb NOT NULL
);

-- Documents (e.g. boundaries GeoJSON) with the provenance of their latest change.
CREATE TABLE documents (
    name          text COLLATE "C" PRIMARY KEY,
    payload       bytea NOT NULL,
    content_hash  text NOT NULL,
    provenance    jsonb NOT NULL,
    written_at    timestamptz NOT NULL
);
