"""About the data: every indicator with its definition, formula, sources and freshness; every source with its terms;
and the refresh that fetches the latest data from the open sources into the warehouse."""

import pandas as pd
import streamlit as st

from ui import loading, state, views
from ui.format import date_label, moment_label
from ui.i18n import pick, t

st.title(t("about.title"))
st.write(t("about.intro"))

catalogue = loading.catalogue()
metadata = loading.series_metadata()
status = loading.fetch_status()

st.header(t("about.indicators"), divider="gray")
for theme in catalogue.themes:
    st.subheader(f"{theme.icon} {pick(theme.name.as_dict())}")
    for indicator in theme.indicators:
        with st.expander(f"{pick(indicator.name.as_dict())} · {t(f'kind.{indicator.kind}')}"):
            st.markdown(f"**{t('about.definition')}:** {pick(indicator.description.as_dict())}")
            st.markdown(f"**{t('indicator.need')}:** {pick(indicator.need.as_dict())}")
            st.markdown(f"**{t('about.formula')}:** {views.formula_in_words(indicator)}")
            st.markdown(f"**{t('about.unit')}:** {views.unit_text(indicator)} · "
                        f"**{t('about.polarity')}:** {t(f'polarity.{indicator.polarity}')} · "
                        f"**{t('about.update')}:** {t(f'frequency.{indicator.update}')}")
            rows = []
            for series_id in indicator.formula.series_ids():
                meta = metadata.get(series_id)
                entry = status.get(series_id, {})
                provenance = meta["provenance"] if meta else None
                rows.append({
                    t("about.series"): series_id,
                    t("about.source"): (views.publisher_label(provenance.attribution) if provenance
                                        else t("about.not_fetched")),
                    t("about.table"): provenance.table if provenance else "",
                    t("about.licence"): provenance.licence if provenance else "",
                    # Copying the bundled snapshot is not a fetch from the source: say so instead of a date.
                    t("about.last_success"): t("about.bundled") if entry.get("source") == "snapshot"
                    else date_label(entry.get("last_success")),
                    t("about.source_updated"): date_label(provenance.data_updated if provenance else None),
                    t("about.last_error"): loading.error_text(entry) if entry.get("last_error") else "",
                })
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

st.header(t("about.vintages"), divider="gray")
st.write(t("about.vintages_help"))
vintages = loading.recent_vintages(limit=200)
if vintages:
    st.dataframe(pd.DataFrame([{
        t("about.vintage"): vintage.id,
        t("about.vintage_stored"): date_label(vintage.created_at),
        t("about.series"): (pick(metadata[vintage.series]["info"].title) + f" ({vintage.series})"
                            if vintage.series in metadata else vintage.series),
        t("about.source_updated"): date_label(vintage.data_updated),
        t("about.new"): vintage.new, t("about.changed"): vintage.changed, t("about.withdrawn"): vintage.withdrawn,
    } for vintage in vintages]), hide_index=True, width="stretch")
else:
    st.caption(t("about.no_vintages"))

st.header(t("about.sources"), divider="gray")
settings = loading.settings()
for name, config in settings.sources.items():
    with st.container(border=True):
        st.markdown(f"**{pick(config.title) or name}** (`{name}`, {config.kind})")
        st.markdown(f"{t('about.publisher')}: {views.publisher_label(config.publisher) or '–'}  \n"
                    f"{t('about.licence')}: {config.licence or '–'}  \n"
                    f"{t('about.attribution')}: {views.publisher_label(config.attribution) or '–'}"
                    + (f"  \n[{config.home_url}]({config.home_url})" if config.home_url else ""))

st.header(t("about.refresh"), divider="gray")
st.write(t("about.refresh_help"))
health = loading.refresh_status()
vintage, run, worker = health["last_vintage"], health["last_run"], health["worker"]
lines = [t("about.health.vintage", vintage=vintage["id"], date=moment_label(vintage["created_at"]))
         if vintage else t("about.health.no_vintage")]
if run:
    lines.append(t(f"about.health.run_{'ok' if run['ok'] else 'failed'}", date=moment_label(run["finished_at"]),
                   trigger=t(f"about.health.trigger.{run['trigger']}"), checked=run["checked"], due=run["due"],
                   fetched=run["fetched"], requests=run["requests"], failed=len(run["failed"])))
else:
    lines.append(t("about.health.no_run"))
if worker and worker.get("state") == "waiting" and worker.get("next_run"):
    lines.append(t("about.health.next_run", date=moment_label(worker["next_run"])))
else:
    lines.append(t("about.health.no_worker"))
st.markdown("\n".join(f"- {line}" for line in lines))
if health["failed_series"]:
    st.warning(t("about.health.failed", count=len(health["failed_series"])))
    titles = {series.id: series.title for source in loading.settings().sources.values() for series in source.series}
    titles.update({series_id: meta["info"].title for series_id, meta in metadata.items()})
    st.dataframe(pd.DataFrame([{
        t("about.series"): (pick(titles[entry["series"]]) + f" ({entry['series']})"
                            if entry["series"] in titles else entry["series"]),
        t("about.health.failed_at"): date_label(entry["failed_at"]),
        t("about.last_success"): date_label(entry["last_success"]),
        t("about.last_error"): loading.error_text(status.get(entry["series"], {})),
    } for entry in health["failed_series"]]), hide_index=True, width="stretch")

permission = loading.refresh_permission()
if permission == "off":
    st.caption(t("about.refresh_off"))
elif permission == "no_login":
    st.caption(t("about.refresh_no_login"))
elif permission == "login":
    st.caption(t("about.refresh_login_help"))
    if st.button(t("about.login"), icon=":material/login:"):
        st.login()
elif st.button(t("about.refresh_button"), icon=":material/refresh:"):
    bar = st.progress(0.0, text=t("about.refresh_starting"))

    def show_progress(event) -> None:
        bar.progress(min(1.0, event.fraction), text=t("about.refresh_progress", done=event.series_done,
                                                       total=event.series_total, requests=event.requests,
                                                       cells=event.cells, message=event.message[:80]))

    try:
        report = loading.run_refresh(progress=show_progress)
    except loading.WarehouseBusy:
        bar.empty()
        st.info(t("about.refresh_busy"))
    except Exception as exc:  # a broken configuration and the like: say it, the warehouse is untouched
        st.error(t("about.refresh_failed", message=str(exc)))
    else:
        bar.progress(1.0, text=t("about.refresh_done"))
        failed = len(report.failed)
        if failed:
            st.warning(t("about.refresh_partial", failed=failed, total=len(report.outcomes)))
        else:
            st.success(t("about.refresh_ok", total=len(report.outcomes)))
        st.dataframe(pd.DataFrame([{
            t("about.source"): outcome.source, t("about.series"): outcome.series,
            t("about.status"): t(f"about.status.{outcome.status}"), t("about.new"): outcome.new,
            t("about.changed"): outcome.changed, t("about.reason"): outcome.reason,
        } for outcome in report.outcomes]), hide_index=True, width="stretch")
if permission == "allowed" and loading.settings().refresh.require_login:
    st.caption(t("about.signed_in", name=str(st.user.get("name") or st.user.get("email") or "")))
    if st.button(t("about.logout"), icon=":material/logout:"):
        st.logout()

state.show_share_link()
