-- Tiedolla warehouse, migration 3: derived tables, a cache of what is computed from the series of one data version
-- (indicators/materialise.py: every indicator's table and the coverage), so that a new app server reads them instead
-- of computing them. Never the data: deleting rows here loses nothing but the time to compute them again.

-- `version` is a vintage id (the data version the payload was computed as of); `digest` says what it was computed
-- with (the catalogue's definition, the engine's code), so two releases against one warehouse each keep their own.
-- No foreign key to vintages: version 0 (an empty warehouse) has no vintage.
CREATE TABLE derived (
    version     bigint NOT NULL,
    name        text COLLATE "C" NOT NULL,
    digest      text COLLATE "C" NOT NULL,
    payload     bytea NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (version, name, digest)
);
-- The payloads come compressed (Arrow IPC with zstd): stored out of line without trying to compress them again.
ALTER TABLE derived ALTER COLUMN payload SET STORAGE EXTERNAL;
