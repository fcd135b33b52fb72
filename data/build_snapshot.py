"""Rebuild the bundled snapshot (`data/snapshot/`) from the real raw files in `data/raw/`.

Usage (from the repository root):  .venv/bin/python data/build_snapshot.py [--out DIR]
(`--out` writes the snapshot elsewhere, e.g. to compare a rebuild with the committed one; default data/snapshot.)

The snapshot is a warehouse directory (one parquet file per series with its description and provenance inside), read
by the `snapshot` source adapter. This script only reshapes: it maps names to official codes, carries older municipal
divisions onto the current one (indicators.regions.carry_to_current: counts summed, rates recombined with their real
denominators where known, otherwise missing) and never changes a value otherwise. Every raw folder keeps its
PROVENANCE.txt; each series records which folder and original table it came from.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from indicators.regions import (  # noqa: E402  (the script runs from anywhere)
    carry_to_current,
    get_registry,
    municipality_code,
    normalise_name,
)
from sources.contract import Provenance, SeriesData, SeriesInfo, tidy_frame  # noqa: E402
from sources.warehouse import Warehouse, open_warehouse  # noqa: E402

RAW = REPO_ROOT / "data" / "raw"
OUT = REPO_ROOT / "data" / "snapshot"
STATFIN = "Statistics Finland (Tilastokeskus), CC BY 4.0"
THL = "THL, Sotkanet.fi, CC BY 4.0"


@dataclass
class Spec:
    """One snapshot series: where its values are in a raw file and what they mean."""

    id: str
    column: str
    title: dict[str, str]
    unit: str
    measure: str = "rate"
    weight: str | None = None  # for a rate: the name of the denominator column built by the loader, if known
    description: dict[str, str] = field(default_factory=dict)


def info(spec: Spec, frequency: str, publisher: str, home_url: str) -> SeriesInfo:
    return SeriesInfo(
        id=spec.id, title=spec.title, unit=spec.unit, publisher=publisher, licence="CC BY 4.0",
        home_url=home_url, frequency=frequency, measure=spec.measure, description=spec.description,
        source="snapshot",
    )


def codes_from_names(names: pd.Series, extra: dict[str, str] | None = None) -> pd.Series:
    """Municipality names (any division since 2013) -> KU codes; a name that cannot be mapped stops the build."""
    mapping = get_registry().name_to_code() | (extra or {})
    codes = names.map(lambda name: mapping.get(normalise_name(name)))
    unknown = sorted(set(names[codes.isna()]))
    if unknown:
        raise SystemExit(f"Cannot map municipality names to codes: {unknown}")
    return codes


def write(warehouse: Warehouse, series_info: SeriesInfo, frame: pd.DataFrame, provenance: Provenance) -> None:
    frame = frame.dropna(subset=["value"])
    known = frame["region"].map(get_registry().is_known)
    if not known.all():
        raise SystemExit(f"{series_info.id}: codes outside the current division after carrying: "
                         f"{sorted(set(frame.loc[~known, 'region']))}")
    warehouse.write(SeriesData(series_info, frame.reset_index(drop=True), provenance), merge=False)
    print(f"  {series_info.id:<48} {len(frame):>7} rows  {frame['period'].min()}..{frame['period'].max()}")


def long_rows(wide: pd.DataFrame, spec: Spec, period_column: str) -> pd.DataFrame:
    return tidy_frame(spec.id, wide["region"], wide[period_column].astype(int).astype(str), wide[spec.column])


# --- reading R data files (build-time only: the app never reads .rda) ----------------------------------------------


def read_r_object(path: Path):
    """The one object saved in an R data file (`rdata` is a build dependency, see requirements-dev.txt)."""
    import warnings

    import rdata

    with warnings.catch_warnings():
        # rdata warns about R classes it has no constructor for (tibble, Date, POSIXct); the values are unaffected.
        warnings.simplefilter("ignore")
        objects = rdata.conversion.convert(rdata.parser.parse_file(path))
    (value,) = objects.values()
    return value


@dataclass(frozen=True)
class PxwebAnswer:
    """A raw StatFin PxWeb answer saved by R's pxweb package: one row per cell, key columns and the value as text."""

    frame: pd.DataFrame
    updated: str  # the table's `updated` date from the publisher's metadata (YYYY-MM-DD)
    source: str  # the table's own source line, e.g. "Tilastokeskus, väestörakenne"
    url: str


def read_pxweb_answer(path: Path) -> PxwebAnswer:
    data = read_r_object(path)
    columns = [str(column["code"][0]) for column in data["columns"]]
    rows = [[str(key[0]) for key in record["key"]] + [str(record["values"][0][0])] for record in data["data"]]
    frame = pd.DataFrame(rows, columns=columns)
    metadata = data["metadata"][0]
    # "2025-02-25T06.00.00Z" as saved by R: the date part is the publisher's update date.
    updated = str(metadata["updated"][0])[:10]
    return PxwebAnswer(frame, updated, str(metadata["source"][0]), str(data["url"][0]))


def pxweb_values(text: pd.Series) -> pd.Series:
    """PxWeb's value strings as numbers: '11.5' -> 11.5; StatFin's '...' / '.' (suppressed, not available) -> NaN."""
    return pd.to_numeric(text.where(~text.str.fullmatch(r"\.+")), errors="raise")


def pxweb_month(text: pd.Series) -> pd.Series:
    """'2024M01' -> '2024-01'."""
    return text.str.replace("M", "-", regex=False)


# --- unemployment counts, monthly 2006-01..2023-10, StatFin 12r5 (2021-2024 division, codes) ----------------------

UNEMPLOYMENT = [
    Spec("snapshot.unemployed", "TYOTTOMATLOPUSSA",
         {"fi": "Työttömät työnhakijat kuukauden lopussa", "sv": "Arbetslösa arbetssökande vid månadens slut",
          "en": "Unemployed jobseekers at the end of the month"}, "henkilöä", "count"),
    Spec("snapshot.labour_force", "TYOVOIMATK",
         {"fi": "Työvoima", "sv": "Arbetskraft", "en": "Labour force"}, "henkilöä", "count",
         description={"fi": "Tilastokeskuksen työssäkäyntitilaston vuosittainen työvoima, jota työnvälitystilasto "
                            "käyttää työttömyysasteen nimittäjänä.",
                      "sv": "Statistikcentralens årliga arbetskraft enligt sysselsättningsstatistiken, som "
                            "arbetsförmedlingsstatistiken använder som nämnare för arbetslöshetsgraden.",
                      "en": "Statistics Finland's annual labour force from the employment statistics, the denominator "
                            "the employment service statistics use for the unemployment rate."}),
    Spec("snapshot.vacancies", "AVPAIKATLOPUSSA",
         {"fi": "Avoimet työpaikat kuukauden lopussa", "sv": "Lediga arbetsplatser vid månadens slut",
          "en": "Open vacancies at the end of the month"}, "kpl", "count"),
]
TEM = "Työ- ja elinkeinoministeriö, Työnvälitystilasto; Tilastokeskus"


def build_unemployment(warehouse: Warehouse) -> None:
    folder = RAW / "unemployment-counts-12r5-2006-2023"
    raw = read_r_object(folder / "tyonv_12r5.rda")
    # Municipal rows only: areas are summed from the municipalities on the current division, so that a region of the
    # 2021-2024 division is never shown as one of today.
    raw = raw[raw["alue"].astype(str).str.startswith("KU")]
    month = pd.to_datetime(raw["time"], unit="D").dt.strftime("%Y-%m")
    provenance = Provenance(
        source="snapshot",
        table="StatFin 12r5 (Työnvälitystilasto, TEM) via pttry/kohtaantoindeksit tyonv_12r5",
        request_url="https://pxdata.stat.fi/PxWeb/api/v1/fi/StatFin/tyonv/statfin_tyonv_pxt_12r5.px",
        # The publisher's release date is not recorded in the file or its repository (the repository's commit date
        # is not the publisher's): none, rather than a date that would mislead.
        fetched_at="2026-12-01", data_updated=None, licence="CC BY 4.0", attribution=TEM,
        notes=("data/raw/unemployment-counts-12r5-2006-2023",
               "2021-2024 division carried onto 2026 (Pertunmaa summed into Mäntyharju)",
               "release date not recorded; months 2006-01..2023-10"),
    )
    for spec in UNEMPLOYMENT:
        rows = raw["tiedot"].astype(str) == spec.column
        frame = tidy_frame(spec.id, raw.loc[rows, "alue"].astype(str), month[rows], raw.loc[rows, "value"])
        write(warehouse, info(spec, "monthly", STATFIN, "https://stat.fi/tilasto/tyonv"),
              carry_to_current(frame, spec.measure), provenance)


# --- the published unemployment rate, monthly 2007-01..2025-01, StatFin 12r5 (2025 division, codes) ---------------

PUBLISHED_RATE = Spec(
    "snapshot.unemployment_rate_published", "TYOTOSUUS",
    {"fi": "Työttömien työnhakijoiden osuus työvoimasta (julkaistu)",
     "sv": "Arbetslösa arbetssökandes andel av arbetskraften (publicerad)",
     "en": "Unemployed jobseekers as a share of the labour force (published)"}, "%", "rate",
    description={"fi": "Tilastokeskuksen julkaisema osuus yhdellä desimaalilla; vain kunnat, ei lukumääriä.",
                 "sv": "Andelen som Statistikcentralen publicerar med en decimal; endast kommuner, inga antal.",
                 "en": "The share as Statistics Finland publishes it, to one decimal; municipalities only, no counts."})


def build_published_rate(warehouse: Warehouse) -> None:
    folder = RAW / "unemployment-rate-12r5-2007-2025"
    answer = read_pxweb_answer(folder / "statfin_tyonv_pxt_12r5_map.Rdata")
    raw = answer.frame
    provenance = Provenance(
        source="snapshot", table="StatFin 12r5, Tiedot TYOTOSUUS (raw PxWeb answer via Kangasalakehitys/kuukausiraportti)",
        request_url=answer.url, fetched_at="2025-03-19", data_updated=answer.updated, licence="CC BY 4.0",
        attribution=TEM,
        notes=("data/raw/unemployment-rate-12r5-2007-2025", "2025 division = 2026 division",
               "from 2025-01 public employment services moved to municipal employment areas (possible series break)"),
    )
    frame = tidy_frame(PUBLISHED_RATE.id, raw["Alue"], pxweb_month(raw["Kuukausi"]), pxweb_values(raw[PUBLISHED_RATE.column]))
    write(warehouse, info(PUBLISHED_RATE, "monthly", STATFIN, "https://stat.fi/tilasto/tyonv"),
          carry_to_current(frame, PUBLISHED_RATE.measure), provenance)


# --- population: 31.12. 1972-2023 (11re), preliminary monthly 2024-01..2025-01 (11lj), net migration (12w7) ---------

POPULATION = Spec("snapshot.population", "vaesto",
                  {"fi": "Väestö 31.12.", "sv": "Befolkning 31.12.", "en": "Population 31 Dec"}, "henkilöä", "count")
POPULATION_MONTHLY = Spec(
    "snapshot.population_preliminary", "vaesto",
    {"fi": "Väkiluku kuukauden lopussa (ennakkotieto)", "sv": "Folkmängd vid månadens slut (preliminär)",
     "en": "Population at the end of the month (preliminary)"}, "henkilöä", "count",
    description={"fi": "Ennakkotieto: tarkentuu, kun vuoden lopullinen väestötieto julkaistaan.",
                 "sv": "Preliminär uppgift: preciseras när årets slutliga befolkningsuppgift publiceras.",
                 "en": "Preliminary: revised when the year's final population figure is published."})
NET_MIGRATION_MONTHLY = Spec(
    "snapshot.net_migration_monthly", "vm43_netto",
    {"fi": "Kuntien välinen nettomuutto kuukaudessa", "sv": "Nettoflyttning mellan kommuner per månad",
     "en": "Net inter-municipal migration per month"}, "henkilöä", "count")
POPULATION_FOLDER = "population-statfin-2023-2025"


def population_provenance(answer: PxwebAnswer, table: str, *notes: str) -> Provenance:
    return Provenance(
        source="snapshot", table=f"StatFin {table} (raw PxWeb answer via Kangasalakehitys/kuukausiraportti)",
        request_url=answer.url, fetched_at="2025-03-19", data_updated=answer.updated, licence="CC BY 4.0",
        attribution=f"Statistics Finland ({answer.source})", notes=(f"data/raw/{POPULATION_FOLDER}", *notes),
    )


def municipal(frame: pd.DataFrame) -> pd.DataFrame:
    """Municipal rows only (the whole country 'SSS' is summed from them, on the current division)."""
    return frame[frame["Alue"].str.startswith("KU")]


def build_population(warehouse: Warehouse) -> None:
    folder = RAW / POPULATION_FOLDER
    year_end = read_pxweb_answer(folder / "statfin_vaerak_pxt_11re_all")
    raw = municipal(year_end.frame)
    frame = tidy_frame(POPULATION.id, raw["Alue"], raw["Vuosi"], pxweb_values(raw["vaesto"]))
    write(warehouse, info(POPULATION, "annual", STATFIN, "https://stat.fi/tilasto/vaerak"),
          carry_to_current(frame, "count"),
          population_provenance(year_end, "vaerak 11re", "2021-2024 division carried onto 2026 (summed)"))

    preliminary = read_pxweb_answer(folder / "statfin_vamuu_pxt_11lj_all.Rdata")
    raw = municipal(preliminary.frame)
    frame = tidy_frame(POPULATION_MONTHLY.id, raw["Alue"], pxweb_month(raw["Kuukausi"]), pxweb_values(raw["vaesto"]))
    write(warehouse, info(POPULATION_MONTHLY, "monthly", STATFIN, "https://stat.fi/tilasto/vamuu"),
          carry_to_current(frame, "count"),
          population_provenance(preliminary, "vamuu 11lj", "2025 division = 2026 division", "preliminary figures"))

    migration = read_pxweb_answer(folder / "statfin_muutl_pxt_12w7.Rdata")
    raw = municipal(migration.frame)
    frame = tidy_frame(NET_MIGRATION_MONTHLY.id, raw["Alue"], pxweb_month(raw["Kuukausi"]),
                       pxweb_values(raw["vm43_netto"]))
    write(warehouse, info(NET_MIGRATION_MONTHLY, "monthly", STATFIN, "https://stat.fi/tilasto/muutl"),
          carry_to_current(frame, "count"),
          population_provenance(migration, "muutl 12w7", "2021-2024 division carried onto 2026 (summed)"))


# --- Statistics Finland municipal key figures 2006-2016, 2019 division (names via kuntakoodit2017) ---------------

KEY_FIGURES = [
    Spec("snapshot.kf.employment_rate", "Tyollisyysaste",
         {"fi": "Työllisyysaste", "sv": "Sysselsättningsgrad", "en": "Employment rate"}, "%"),
    Spec("snapshot.kf.unemployed_share", "Tyottomien_osuus_tyovoimasta",
         {"fi": "Työttömien osuus työvoimasta", "sv": "Andelen arbetslösa av arbetskraften",
          "en": "Unemployed as a share of the labour force"}, "%"),
    Spec("snapshot.kf.economic_dependency", "Taloudellinen_huoltosuhde",
         {"fi": "Taloudellinen huoltosuhde", "sv": "Ekonomisk försörjningskvot", "en": "Economic dependency ratio"},
         "ei-työllisiä / 100 työllistä"),
    Spec("snapshot.kf.job_self_sufficiency", "Tyopaikkaomavaraisuus",
         {"fi": "Työpaikkaomavaraisuus", "sv": "Arbetsplatssjälvförsörjning", "en": "Job self-sufficiency"}, "%"),
    Spec("snapshot.kf.employed_residents", "Alueella_asuvan_tyollisen_tyovoiman_maara",
         {"fi": "Alueella asuva työllinen työvoima", "sv": "Sysselsatt arbetskraft som bor i området",
          "en": "Employed labour force living in the area"}, "henkilöä", "count"),
    Spec("snapshot.kf.jobs", "Alueella_olevien_tyopaikkojen_lukumaara",
         {"fi": "Alueella olevat työpaikat", "sv": "Arbetsplatser i området", "en": "Jobs in the area"},
         "kpl", "count"),
    Spec("snapshot.kf.pensioners_share", "Elakelaisten_osuus_vaestosta",
         {"fi": "Eläkeläisten osuus väestöstä", "sv": "Andelen pensionärer av befolkningen",
          "en": "Pensioners as a share of the population"}, "%", "rate", "population"),
    Spec("snapshot.kf.over_64_share", "Yli_64_vuotiaiden_osuus_vaestosta",
         {"fi": "Yli 64-vuotiaiden osuus väestöstä", "sv": "Andelen personer över 64 år av befolkningen",
          "en": "Share of people aged over 64"}, "%", "rate", "population"),
    Spec("snapshot.kf.under_15_share", "Alle_15_vuotiaiden_osuus_vaestosta",
         {"fi": "Alle 15-vuotiaiden osuus väestöstä", "sv": "Andelen personer under 15 år av befolkningen",
          "en": "Share of people aged under 15"}, "%", "rate", "population"),
    Spec("snapshot.kf.tertiary_education_share", "Korkea_asteen_tutkinnon_suorittaneiden_osuus_15_vuotta_tayttaneista",
         {"fi": "Korkea-asteen tutkinnon suorittaneiden osuus 15 vuotta täyttäneistä",
          "sv": "Andelen med högre utbildning av personer som fyllt 15 år",
          "en": "Share of people aged 15+ with tertiary education"}, "%"),
    Spec("snapshot.kf.net_migration", "Kuntien_valinen_muuttovoitto_tappio_henkiloa",
         {"fi": "Kuntien välinen muuttovoitto/-tappio", "sv": "Flyttningsvinst/-förlust mellan kommuner",
          "en": "Net inter-municipal migration"}, "henkilöä", "count"),
    Spec("snapshot.kf.population_change", "Vakiluvun_muutos_edellisesta_vuodesta",
         {"fi": "Väkiluvun muutos edellisestä vuodesta", "sv": "Förändring av folkmängden från föregående år",
          "en": "Population change from the previous year"}, "%"),
    Spec("snapshot.kf.social_health_costs", "Sosiaali_ja_terveystoiminta_yhteensa_nettokayttokustannukset_euroa_asukas",
         {"fi": "Sosiaali- ja terveystoiminnan nettokäyttökustannukset", "sv": "Social- och hälsovårdens nettodriftskostnader",
          "en": "Net operating costs of social and health care"}, "€/asukas", "amount", "population"),
    Spec("snapshot.kf.foreign_citizens_share", "Ulkomaan_kansalaisten_osuus_vaestosta",
         {"fi": "Ulkomaan kansalaisten osuus väestöstä", "sv": "Andelen utländska medborgare av befolkningen",
          "en": "Foreign citizens as a share of the population"}, "%", "rate", "population"),
]


def build_key_figures(warehouse: Warehouse) -> None:
    folder = RAW / "municipal-key-figures-2006-2016"
    raw = pd.read_csv(folder / "kuntien_avainluvut_2006_2016.csv")
    key = pd.read_csv(folder / "kuntakoodit2017.csv", dtype=str)
    name_to_code = {normalise_name(name): f"KU{code}" for code, name in zip(key["Knro"], key["Kunta"])}
    raw["region"] = codes_from_names(raw["Alue"], name_to_code)
    weights = pd.DataFrame({"region": raw["region"], "period": raw["vuosi"].astype(str), "weight": raw["Vakiluku"]})
    provenance = Provenance(
        source="snapshot", table="Kuntien avainluvut 2019, kuntien_avainluvut_2019_aikasarja (2019 division)",
        request_url="https://pxdata.stat.fi/PxWeb/pxweb/fi/Kuntien_avainluvut/", fetched_at="2019-09-06",
        data_updated="2019-09-06", licence="CC BY 4.0", attribution="Statistics Finland, Kuntien avainluvut",
        notes=("data/raw/municipal-key-figures-2006-2016 (pttry/KT162R)",
               "2019 division carried onto 2026: counts summed, population shares weighted by population, "
               "other rates missing for municipalities merged after 2019"),
    )
    for spec in KEY_FIGURES:
        frame = long_rows(raw, spec, "vuosi")
        weight = weights if spec.weight == "population" else None
        write(warehouse, info(spec, "annual", STATFIN, "https://stat.fi/tup/alue/kuntienavainluvut.html"),
              carry_to_current(frame, spec.measure, weight), provenance)


# --- Sotkanet indicators 1990-2012, 2013 division (names via the 2013 key) ----------------------------------------

SOTKANET_2012 = [
    Spec("snapshot.sotkanet.sickness_allowance_16_64", "Sairauspäivärahaa saaneet 16 - 64-vuotiaat",
         {"fi": "Sairauspäivärahaa saaneet 16–64-vuotiaat / 1000 vastaavanikäistä",
          "sv": "16–64-åringar som fått sjukdagpenning / 1000 i samma ålder",
          "en": "Sickness allowance recipients aged 16–64 per 1,000 of same age"}, "‰", "rate", "population_16_64"),
    Spec("snapshot.sotkanet.social_assistance_share", "Toimeentulotukea saaneet henkilöt",
         {"fi": "Toimeentulotukea saaneet henkilöt vuoden aikana, % asukkaista",
          "sv": "Personer som fått utkomststöd under året, % av invånarna",
          "en": "Social assistance recipients during the year, % of residents"}, "%", "rate", "population"),
    Spec("snapshot.sotkanet.low_income_rate", "Kunnan yleinen pienituloisuusaste",
         {"fi": "Kunnan yleinen pienituloisuusaste", "sv": "Kommunens allmänna låginkomstgrad",
          "en": "At-risk-of-poverty rate in the municipality"}, "%"),
    Spec("snapshot.sotkanet.gini", "Gini-kerroin",
         {"fi": "Gini-kerroin, käytettävissä olevat tulot", "sv": "Gini-koefficient, disponibla inkomster",
          "en": "Gini coefficient, disposable income"}, "indeksi"),
    Spec("snapshot.sotkanet.unemployed_share", "Työttömät",
         {"fi": "Työttömät, % työvoimasta", "sv": "Arbetslösa, % av arbetskraften",
          "en": "Unemployed, % of labour force"}, "%"),
    Spec("snapshot.sotkanet.employed_share", "Työlliset",
         {"fi": "Työlliset, % väestöstä", "sv": "Sysselsatta, % av befolkningen", "en": "Employed, % of population"},
         "%", "rate", "population"),
    Spec("snapshot.sotkanet.net_migration_per_1000", "Kuntien välinen nettomuutto",
         {"fi": "Kuntien välinen nettomuutto / 1000 asukasta", "sv": "Nettoflyttning mellan kommuner / 1000 invånare",
          "en": "Net inter-municipal migration per 1,000 residents"}, "‰", "rate", "population"),
    Spec("snapshot.sotkanet.demographic_dependency", "Huoltosuhde, demografinen",
         {"fi": "Huoltosuhde, demografinen", "sv": "Försörjningskvot, demografisk", "en": "Demographic dependency ratio"},
         "alle 15- ja yli 64-v. / 100 työikäistä"),
    Spec("snapshot.sotkanet.antidepressants_18_64", "Depressiolääkkeistä korvausta",
         {"fi": "Depressiolääkkeistä korvausta saaneet 18–64-vuotiaat / 1000 vastaavanikäistä",
          "sv": "18–64-åringar som fått ersättning för depressionsläkemedel / 1000 i samma ålder",
          "en": "Reimbursed antidepressant users aged 18–64 per 1,000 of same age"}, "‰"),
]


POPULATION_16_64 = Spec(
    "snapshot.sotkanet.population_16_64_estimate", "",
    {"fi": "16–64-vuotiaat (arvio)", "sv": "16–64-åringar (uppskattning)", "en": "Population aged 16–64 (estimate)"},
    "henkilöä", "count",
    description={"fi": "Väestö 31.12. kertaa julkaistu 16–64-vuotiaiden osuus (yksi desimaali): likiarvo.",
                 "sv": "Befolkningen 31.12 gånger den publicerade andelen 16–64-åringar (en decimal): ett närmevärde.",
                 "en": "Population on 31 Dec times the published share aged 16–64 (one decimal): an approximation."})


def _sotkanet_column(columns: pd.Index, fragment: str) -> str:
    """The one wide-file column whose title (after the [THEME] tag) starts with `fragment`."""
    titles = {c: " ".join(c.split("] ", 1)[-1].split()) for c in columns}
    matches = [c for c, title in titles.items() if title == fragment] or [
        c for c, title in titles.items() if title.startswith(fragment)
    ]
    if len(matches) != 1:
        raise SystemExit(f"Sotkanet column for '{fragment}' is ambiguous or missing: {matches}")
    return matches[0]


def build_sotkanet_2012(warehouse: Warehouse) -> None:
    folder = RAW / "sotkanet-indicators-1990-2012"
    raw = pd.read_csv(folder / "sotkanet_wide_kunta_1990_2012.csv")
    key = pd.read_csv(folder / "sotkanet_kunnat_2013_key.csv", dtype=str)
    name_to_code = {normalise_name(n): f"KU{c}" for n, c in zip(key["region.title.fi"], key["region.code"])}
    raw["region"] = codes_from_names(raw["Alue"], name_to_code)
    period = raw["Vuosi"].astype(str)
    population = raw[_sotkanet_column(raw.columns, "Väestö 31.12.")]
    share_16_64 = raw[_sotkanet_column(raw.columns, "16-64 -vuotiaat, % väestöstä")]
    weights = {
        "population": pd.DataFrame({"region": raw["region"], "period": period, "weight": population}),
        "population_16_64": pd.DataFrame({"region": raw["region"], "period": period,
                                          "weight": population * share_16_64 / 100}),
    }
    provenance = Provenance(
        source="snapshot", table="Sotkanet indicators as extracted 2013-2014 (2013 division)",
        request_url="https://sotkanet.fi/rest/1.1/", fetched_at="2014-10-13", data_updated="2014-10-13",
        licence="CC BY 4.0", attribution="THL, Sotkanet.fi",
        notes=("data/raw/sotkanet-indicators-1990-2012 (via ouzor/sotkanet-shiny)",
               "2013 division carried onto 2026: rates with a population denominator recombined; "
               "other rates missing for merged municipalities before their merger"),
    )
    for spec in SOTKANET_2012:
        frame = tidy_frame(spec.id, raw["region"], period, raw[_sotkanet_column(raw.columns, spec.column)])
        write(warehouse, info(spec, "annual", THL, "https://sotkanet.fi/"),
              carry_to_current(frame, spec.measure, weights.get(spec.weight or "")), provenance)
    # The estimated denominator itself, so that areas can be weighted by it too (the formula engine's "weighted").
    estimate = weights["population_16_64"]
    frame = tidy_frame(POPULATION_16_64.id, estimate["region"], estimate["period"], estimate["weight"])
    estimate_provenance = replace(provenance, notes=(*provenance.notes, "estimate: Väestö 31.12. x the published "
                                                     "16-64 share (one decimal) / 100, not a published count"))
    write(warehouse, info(POPULATION_16_64, "annual", THL, "https://sotkanet.fi/"),
          carry_to_current(frame, "count"), estimate_provenance)


# --- Sotkanet child and family indicators 1990-2023, 2025 division (codes) ---------------------------------------

CHILD_FAMILY = [
    Spec("snapshot.sotkanet.child_poverty", "228",
         {"fi": "Lasten pienituloisuusaste", "sv": "Låginkomstgrad bland barn", "en": "At-risk-of-poverty rate for children"},
         "%"),
    Spec("snapshot.sotkanet.children_placed_outside_home", "1244",
         {"fi": "Kodin ulkopuolelle sijoitetut tai kiireellisesti sijoitetut 0–17-vuotiaat, % vastaavanikäisestä väestöstä",
          "sv": "0–17-åringar placerade utom hemmet eller brådskande placerade, % av befolkningen i samma ålder",
          "en": "Children aged 0–17 placed in care or emergency placement, % of same age"}, "%"),
    Spec("snapshot.sotkanet.child_welfare_home_help", "3517",
         {"fi": "Lastensuojelun kotipalvelua saaneet perheet, % lapsiperheistä",
          "sv": "Familjer som fått hemservice inom barnskyddet, % av barnfamiljerna",
          "en": "Families receiving child-welfare home help, % of families with children"}, "%"),
    Spec("snapshot.sotkanet.gini_2023", "3126",
         {"fi": "Gini-kerroin, käytettävissä olevat tulot", "sv": "Gini-koefficient, disponibla inkomster",
          "en": "Gini coefficient, disposable income"}, "indeksi"),
    Spec("snapshot.sotkanet.child_family_services_costs", "5432",
         {"fi": "Lasten, nuorten ja perheiden sosiaalipalvelujen nettokäyttökustannukset, euroa / asukas",
          "sv": "Nettodriftskostnader för socialtjänster för barn, unga och familjer, euro / invånare",
          "en": "Net operating costs of social services for children, youth and families, € per resident"},
         "€/asukas", "amount"),
]


def build_child_family(warehouse: Warehouse) -> None:
    raw = pd.read_csv(RAW / "sotkanet-child-family-2023" / "sotkanet_child_family_indicators_1990_2023_wide.csv",
                      dtype={"municipality_code": str})
    years = [column for column in raw.columns if column.isdigit()]
    long = raw.melt(id_vars=["indicator_id", "municipality_code"], value_vars=years, var_name="year")
    long["region"] = long["municipality_code"].map(municipality_code)
    provenance = Provenance(
        source="snapshot", table="Sotkanet export (English), indicators 228, 1244, 3517, 3126, 5432",
        request_url="https://sotkanet.fi/sotkanet/en/", fetched_at="2025-04-23", data_updated="2025-04-23",
        licence="CC BY 4.0", attribution="THL, Sotkanet.fi",
        notes=("data/raw/sotkanet-child-family-2023 (cjrwebb/pgrt-tidying-data)", "2025 division = 2026 division"),
    )
    for spec in CHILD_FAMILY:
        rows = long[long["indicator_id"].astype(str) == spec.column]
        frame = tidy_frame(spec.id, rows["region"], rows["year"], rows["value"])
        write(warehouse, info(spec, "annual", THL, f"https://sotkanet.fi/sotkanet/fi/metadata/indicators/{spec.column}"),
              carry_to_current(frame, spec.measure), provenance)


# --- Syke ALas greenhouse gas emissions, Hinku method, 13 North Karelia municipalities, 1990 and 2005-2024 -------------

HEATING_SECTORS = ("Sähkölämmitys", "Kaukolämpö", "Öljylämmitys", "Muu lämmitys")
# Series id -> the sectors summed (None: the source's own total row, not a sum of rounded sectors).
EMISSIONS: dict[str, tuple[Spec, tuple[str, ...] | None]] = {
    "total": (Spec("snapshot.syke.hinku_total", "total",
                   {"fi": "Kasvihuonekaasupäästöt yhteensä (Hinku-laskenta)",
                    "sv": "Växthusgasutsläpp totalt (Hinku-beräkning)",
                    "en": "Greenhouse gas emissions, total (Hinku method)"}, "kt CO2e", "count"), None),
    "road_transport": (Spec("snapshot.syke.hinku_road_transport", "Tieliikenne",
                            {"fi": "Tieliikenteen päästöt (Hinku-laskenta)", "sv": "Vägtrafikens utsläpp (Hinku-beräkning)",
                             "en": "Road transport emissions (Hinku method)"}, "kt CO2e", "count"), ("Tieliikenne",)),
    "heating": (Spec("snapshot.syke.hinku_heating", "heating",
                     {"fi": "Rakennusten lämmityksen päästöt (Hinku-laskenta)",
                      "sv": "Utsläpp från uppvärmning av byggnader (Hinku-beräkning)",
                      "en": "Building heating emissions (Hinku method)"}, "kt CO2e", "count"), HEATING_SECTORS),
    "electricity": (Spec("snapshot.syke.hinku_electricity", "Kulutussähkö",
                         {"fi": "Kulutussähkön päästöt (Hinku-laskenta)",
                          "sv": "Utsläpp från förbrukningsel (Hinku-beräkning)",
                          "en": "Consumption electricity emissions (Hinku method)"}, "kt CO2e", "count"), ("Kulutussähkö",)),
}


def build_emissions(warehouse: Warehouse) -> None:
    import json

    folder = RAW / "emissions-alas-pohjois-karjala-13"
    dataset = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    municipalities = dataset["municipalities"]
    codes = codes_from_names(pd.Series([m["name"] for m in municipalities]))
    methods = {m["metadata"]["method"] for m in municipalities}
    if methods != {"Hinku-laskenta ilman päästöhyvityksiä"}:
        raise SystemExit(f"emissions: expected the Hinku method without credits throughout, found {sorted(methods)}")
    provenance = Provenance(
        source="snapshot",
        table="Syke ALas 2026, KHK-päästöt, Hinku-laskenta ilman päästöhyvityksiä (13 municipalities; a third "
              "party's conversion of Syke's Excel files: eetuahlberg-prog/Ilmastobudjetointi data/dataset.json)",
        request_url="https://paastot.hiilineutraalisuomi.fi/",
        # Downloaded from Syke's service on this date (the Excel files' own date); Syke's release date is not recorded.
        fetched_at=municipalities[0]["metadata"]["downloadDate"], data_updated=None, licence="CC BY 4.0",
        attribution="Syke / Hiilineutraali Suomi, ALas",
        notes=("data/raw/emissions-alas-pohjois-karjala-13",
               "only 13 North Karelia municipalities are bundled; a refresh fetches every municipality from Syke",
               "heating = the sum of the four heating sectors as published (each rounded to 0.1 kt)"),
    )
    for spec, sectors in EMISSIONS.values():
        regions, periods, values = [], [], []
        for code, municipality in zip(codes, municipalities):
            for year, observation in municipality["observations"].items():
                regions.append(code)
                periods.append(str(year))
                if sectors is None:
                    values.append(observation["total"])
                else:
                    parts = [observation["sectors"].get(sector) for sector in sectors]
                    values.append(None if any(part is None for part in parts) else round(sum(parts), 1))
        frame = tidy_frame(spec.id, pd.Series(regions), pd.Series(periods), pd.Series(values, dtype="float64"))
        write(warehouse, info(spec, "annual", "Syke (Finnish Environment Institute)",
                              "https://paastot.hiilineutraalisuomi.fi/"),
              carry_to_current(frame, "count"), provenance)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild the bundled snapshot from data/raw/.")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output directory (default: {OUT})")
    out = parser.parse_args(argv).out.resolve()
    staging = out.with_name(out.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    warehouse = open_warehouse(staging)
    print(f"Building the snapshot from {RAW}")
    for step in (build_unemployment, build_published_rate, build_population, build_key_figures, build_sotkanet_2012,
                 build_child_family, build_emissions):
        step(warehouse)
    (staging / "status.json").unlink(missing_ok=True)  # build-time status is not the app's fetch history
    for lock in (".status.lock", ".write.lock"):  # the build's own locks, not part of the bundle
        (staging / lock).unlink(missing_ok=True)
    # Replace the old snapshot only after every step succeeded.
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    print(f"Snapshot written to {out}")


if __name__ == "__main__":
    main()
