-- Tiedolla warehouse, migration 2: area names, the read-only view `latest_values` for other tools, and the group
-- role `tiedolla_reader` that may read only that view and the vintages.

-- Areas of the region registry (indicators/regions.py), filled by PostgresWarehouse.sync_areas at seeding time.
CREATE TABLE areas (
    code     text COLLATE "C" PRIMARY KEY,
    level    text NOT NULL,
    name_fi  text,
    name_sv  text,
    name_en  text
);

CREATE VIEW latest_values AS
SELECT o.series                   AS series_id,
       s.info -> 'title' ->> 'fi' AS series_title_fi,
       s.info -> 'title' ->> 'sv' AS series_title_sv,
       s.info -> 'title' ->> 'en' AS series_title_en,
       s.info ->> 'unit'          AS unit,
       o.region                   AS region_code,
       a.name_fi                  AS area_name_fi,
       a.name_sv                  AS area_name_sv,
       a.name_en                  AS area_name_en,
       a.level                    AS area_level,
       o.period,
       o.value,
       o.valid_from               AS vintage_id
FROM observations o
JOIN series s ON s.id = o.series
LEFT JOIN areas a ON a.code = o.region
WHERE o.valid_to IS NULL;

COMMENT ON VIEW latest_values IS
'Tiedolla: the current value of every series, region and period, one row each. Columns: series_id (e.g. '
'statfin.unemployed); series_title_fi/sv/en and unit of the series; region_code (KU### municipality, SK### '
'sub-region, MK## region, HV## wellbeing services county, KR# municipality group, SSS whole country); '
'area_name_fi/sv/en and area_level (municipality, subregion, region, wellbeing_county, municipality_group, country; '
'NULL when the area registry has not been synced); period (YYYY or YYYY-MM); value (NULL: the publisher gives it as '
'missing); vintage_id (the vintage that stored this value, see the table vintages for when and from which source). '
'Read-only: grant the role tiedolla_reader to a login role to read it. Older revisions are not shown here.';

-- The role is cluster-wide while this migration runs per database: create it only when missing, tolerate a
-- concurrent creator, and skip the grants (with a warning) when the migrating role may not create roles.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tiedolla_reader') THEN
        BEGIN
            CREATE ROLE tiedolla_reader NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'Cannot create the role tiedolla_reader (the migrating role lacks CREATEROLE); '
                    'ask a database administrator to create it (CREATE ROLE tiedolla_reader NOLOGIN) and grant it USAGE on '
                    'this schema and SELECT on latest_values and vintages.';
                RETURN;
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO tiedolla_reader', current_schema());
    GRANT SELECT ON latest_values, vintages TO tiedolla_reader;
END
$$;
