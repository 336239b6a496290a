# ---
# jupyter:
#   kernelspec:
#     display_name: Python (opsbook)
#     language: python
#     name: opsbook
# ---

# %% [markdown]
# # Día 2 · Monitoreo, observabilidad y alertas del pipeline
#
# Un pipeline que "corre" no es un pipeline que funciona: puede terminar en verde con la mitad de
# las filas en cuarentena, o terminar tarde. Hoy seguimos el camino completo de una métrica en un
# stack real: la tarea de Airflow la emite por **StatsD** → el puente la expone → **Prometheus**
# la guarda y evalúa reglas → **Alertmanager** agrupa y enruta → el **webhook** del stack la
# recibe (mañana, el runbook actuará ahí). Grafana dibuja lo mismo desde un dashboard generado
# como código.
#
# **Objetivos**
#
# 1. Ejecutar `pipeline_ventas` con parámetros variados (limpia, sucia, fallo inyectado,
#    deadline incumplido) y ver cómo cambia cada métrica.
# 2. Consultar Prometheus desde Python (consultas instantáneas y de rango → pandas).
# 3. Dibujar cada panel del dashboard desde las **mismas** consultas que usa Grafana.
# 4. Seguir una alerta real: pending → firing → recibida por el webhook → resuelta, con latencias.
# 5. Capturar la interfaz real de Prometheus y responder las preguntas de verificación con lo
#    medido.

# %% [markdown]
# Antes de empezar: comprobamos en un segundo que está todo lo que necesita el día (si falta algo, el
# mensaje dice qué comando lo arregla).

# %%
from opsbook.course.preflight import preparar

preparar(dia=2)

# %% tags=["parameters"]
n_rows = 400  # filas del fichero de ventas de cada ejecución (50..100000)
dirty_fraction = 0.08  # fracción de filas defectuosas de la ejecución "sucia" (0..0.1)
run_timeout_s = 900.0  # plazo de cada ejecución del DAG (60..3600 s)
alert_timeout_s = 240.0  # plazo para ver la alerta disparar y resolverse (60..3600 s)

# %%
import time

import pandas as pd
from IPython.display import Image, Markdown, display
from opsbook import evidence
from opsbook.course import day2, screenshots
from opsbook.observability import alerts, charts, dashboard, prom, signals
from opsbook.settings import settings

day2.check_params(n_rows, dirty_fraction, run_timeout_s, alert_timeout_s)
notebook_start = time.time()
print("Prometheus:", settings.prometheus_url, "· webhook:", settings.webhook_url)

# %% [markdown]
# Un parámetro mal puesto se rechaza antes de tocar nada, con un mensaje que dice qué cambiar:

# %%
try:
    day2.check_params(n_rows, 0.5, run_timeout_s, alert_timeout_s)
except ValueError as exc:
    print("rechazado:", exc)

# %% [markdown]
# ## 1. Las señales: cada consulta PromQL, escrita una sola vez
#
# `opsbook.observability.signals` define cada panel (id, título, unidad, expresión, tipo de panel). El
# dashboard de Grafana (`monitoring/grafana/dashboards/pipeline.json`) se **genera** desde ahí
# con `grafana-foundation-sdk` (`opsbook dashboard`), y los gráficos de este cuaderno usan las
# mismas expresiones. Las alertas viven en `monitoring/prometheus/rules/*.yml`.

# %%
signals_table = pd.DataFrame([{"id": s.id, "título": s.title, "unidad": s.unit, "panel": s.panel,
                               "grupo": s.group} for s in signals.SIGNALS])
rules_table = pd.DataFrame([{"alerta": r.name, "severidad": r.severity,
                             "incident_type": r.incident_type, "for_s": r.for_s}
                            for r in signals.alert_rules()])
display(signals_table)
display(rules_table)
evidence.save_frame(2, "senales", signals_table, "Catálogo de señales (paneles)")
evidence.save_frame(2, "reglas_alerta", rules_table, "Reglas de alerta de Prometheus")

# %%
assert signals.covered_metrics() == {m.name for m in signals.catalog.METRICS}
assert dashboard.panel_queries() == [(s.title, s.expr) for s in signals.SIGNALS]
assert {"warning", "critical"} <= set(rules_table["severidad"])

# %% [markdown]
# Antes de desplegar una regla se prueba como cualquier código: `promtool test rules` alimenta
# series sintéticas (incluida una serie que **nace en 1**, como un contador StatsD tras un
# reinicio, que `increase()` por sí solo nunca vería) y comprueba que cada alerta dispara, no
# dispara, se resuelve y escala.

# %%
rule_tests = day2.promtool_tests()
print(rule_tests["output"])
assert rule_tests["ok"], rule_tests["output"]

# %% [markdown]
# ## 2. Cuatro ejecuciones reales de `pipeline_ventas`
#
# Antes y después de cada ejecución leemos las 14 métricas del catálogo en Prometheus; la
# diferencia es lo que esa ejecución aportó. Lanzamos el DAG por la API REST (cliente oficial
# `apache-airflow-client`).

# %%
plans = day2.scenarios(n_rows, dirty_fraction)
results = {}
for name in ("limpia", "sucia"):
    before = day2.snapshot()
    run_id, triggered = day2.trigger(plans[name])
    results[name] = day2.finish(name, run_id, triggered, before, run_timeout_s)
    print(f"{name}: {results[name].state} en {results[name].seconds} s")

# %%
clean, dirty = results["limpia"], results["sucia"]
assert clean.state == dirty.state == "success"
assert clean.deltas["airflow_pipeline_load_records_loaded"] == n_rows
assert clean.after["airflow_pipeline_transform_quality"] == 1.0
assert dirty.deltas["airflow_pipeline_transform_errors"] > 0
assert dirty.after["airflow_pipeline_transform_quality"] < 1.0
# ninguna fila se pierde: válidas + cuarentena = extraídas
assert (dirty.deltas["airflow_pipeline_transform_output_records"]
        + dirty.deltas["airflow_pipeline_transform_errors"]
        == dirty.deltas["airflow_pipeline_extract_records"])

# %% [markdown]
# La ejecución sucia terminó en **success**: el pipeline hizo su trabajo (puso las filas malas
# en cuarentena con su motivo), pero la calidad bajó. Solo una métrica lo cuenta.
#
# Ahora un **fallo inyectado** (`fail_at="transform"`: la tarea falla en cada reintento) y, nada
# más terminar, una ejecución lenta que incumplirá su **deadline** (el SLA de Airflow 3:
# `DeadlineAlert`).

# %%
before = day2.snapshot()
run_id, triggered = day2.trigger(plans["fallo"])
results["fallo"] = day2.finish("fallo", run_id, triggered, before, run_timeout_s)
failure = results["fallo"]
print(f"fallo: {failure.state} en {failure.seconds} s")
day2.wait_sla_quiet(alert_timeout_s)  # su alerta de SLA será un episodio nuevo, solo suyo
before_deadline = day2.snapshot()
deadline_run, deadline_triggered = day2.trigger(plans["deadline"])
print("ejecución lenta lanzada:", deadline_run)

# %%
assert failure.state == "failed"
assert failure.deltas["airflow_pipeline_dag_failure"] == 1
assert failure.deltas["airflow_pipeline_dag_success"] == 0

# %% [markdown]
# ## 3. Una alerta de principio a fin
#
# `PipelineDagFailed` (warning) se vuelve verdadera cuando el contador de fallos sube; tras su
# `for` pasa de *pending* a *firing*, Prometheus la envía a Alertmanager, que espera
# `group_wait` y la entrega al webhook en `/alerts/warning`. Cuando la ventana de un minuto
# deja de ver el fallo, se resuelve y llega la notificación `resolved`. Medimos cada etapa desde
# el instante en que Airflow marcó la ejecución como fallida.

# %%
rule = signals.alert_rule("PipelineDagFailed")
trace = alerts.follow(rule.name, failure.ended_at, match={"dag_id": day2.DAG_ID},
                      until="resolved_received", timeout_s=alert_timeout_s,
                      episode_after=failure.ended_at - 1)
latencies = trace.latencies()
display(pd.DataFrame([latencies], index=["segundos desde el fallo"]).T)
evidence.save_json(2, "alerta_ciclo_de_vida", trace.as_dict(), "Etapas de PipelineDagFailed")
fig = charts.alert_timeline_figure(trace)
evidence.save_figure(2, "alerta_ciclo_de_vida", fig, "Ciclo de vida de la alerta")
display(fig)

# %%
assert trace.active_at <= trace.firing <= trace.resolved
assert trace.firing - trace.active_at >= rule.for_s - 1  # pending al menos el `for`
assert trace.received >= trace.firing - 1 and trace.resolved_received > trace.received
assert trace.receiver_path == "/alerts/warning" and trace.labels["severity"] == "warning"
assert trace.labels["incident_type"] == "dag_failure"

# %% [markdown]
# ## 4. El deadline incumplido
#
# El SLA es de `settings.sla_seconds` segundos desde que la ejecución entra en cola; la ejecución
# lenta espera más que eso en `transform`. El callback del `DeadlineAlert` corre en el
# triggerer, suma `sla_violations` y la alerta `PipelineSlaMissed` llega al webhook.
#
# La latencia se mide **para esta ejecución**: antes de lanzarla esperamos a que venciera el
# deadline de las ejecuciones anteriores (una ejecución que falla deprisa también incumple su
# deadline, más tarde) y a que no hubiera ningún episodio de `PipelineSlaMissed` activo; ahora
# solo vale la notificación cuyo
# `startsAt` es posterior al vencimiento de su deadline. Una notificación de otra ejecución
# (de hoy, de una ejecución anterior del cuaderno o de otro alumno) nunca se confunde con la
# suya, así que la latencia no puede salir negativa.

# %%
results["deadline"] = day2.finish("deadline", deadline_run, deadline_triggered, before_deadline,
                                  run_timeout_s)
day2.wait_sla_violation(before_deadline, timeout_s=120)
late = results["deadline"]
sla = day2.sla_alert(late, timeout_s=alert_timeout_s)
print(f"deadline: {late.state} en {late.seconds} s (SLA {settings.sla_seconds:g} s); "
      f"alerta PipelineSlaMissed de {sla.run_id} recibida {sla.latency_s:.1f} s después "
      "del vencimiento")

# %%
assert late.state == "success" and late.seconds > settings.sla_seconds
assert late.deltas["airflow_pipeline_sla_violations"] >= 1
assert sla.run_id == late.run_id and sla.starts_at >= sla.expired_at - 1
assert 0 <= sla.latency_s <= alert_timeout_s
assert sla.receiver_path == "/alerts/warning"

# %% [markdown]
# ## 5. Prometheus desde pandas: consultas instantáneas y de rango

# %%
runs = day2.runs_frame([results[k] for k in ("limpia", "sucia", "fallo", "deadline")])
evidence.save_frame(2, "ejecuciones", runs, "Las cuatro ejecuciones y sus métricas")
display(runs)
instant = prom.query(signals.get("records_by_stage").expr)
display(instant[["dag_id", "etapa", "value"]])
history = prom.query_range(signals.get("scheduler_heartbeat_rate").expr, notebook_start,
                           step="5s")
display(history.tail())

# %%
assert list(runs["estado"]) == ["success", "success", "failed", "success"]
assert not instant.empty and len(history) > 3

# %% [markdown]
# ## 6. El dashboard, panel a panel
#
# Cada panel de Grafana, dibujado con matplotlib desde su misma expresión (PNG en
# `evidencia/dia_2/`). Primero comprobamos que **ninguna** consulta del dashboard está vacía.

# %%
panels = day2.panel_results(dashboard.panel_queries())
evidence.save_frame(2, "paneles", panels, "Cada consulta del dashboard evaluada en vivo")
display(panels)
assert panels["valores_validos"].all(), panels[~panels["valores_validos"]]

# %%
for sig in signals.SIGNALS:
    panel_fig = charts.panel_figure(sig, start=notebook_start - 60, step="5s")
    evidence.save_figure(2, f"panel_{sig.id}", panel_fig, sig.title)
fig = charts.dashboard_figure(notebook_start - 60, step="5s")
evidence.save_figure(2, "dashboard", fig, "Dashboard completo (mismas consultas que Grafana)")
display(fig)

# %% [markdown]
# ## 7. La interfaz real de Prometheus
#
# Capturas con Chromium sin interfaz (`--virtual-time-budget=10000`: sin él el gráfico sale
# vacío). Si Chromium no está instalado, se deja constancia y se sigue.

# %%
shots = [screenshots.capture(screenshots.graph_url(signals.get("records_by_stage").expr),
                             evidence.day_dir(2) / "prometheus_grafico.png"),
         screenshots.capture(screenshots.alerts_url(),
                             evidence.day_dir(2) / "prometheus_alertas.png")]
for shot in shots:
    if shot.ok:
        evidence.save_file(2, shot.path, f"Captura de {shot.url}")
        display(Image(filename=str(shot.path), width=900))
    else:
        print("AVISO:", shot.note)

# %%
assert all(s.ok for s in shots) or screenshots.browser() is None

# %% [markdown]
# ## 8. Resumen y preguntas de verificación

# %%
summary = {
    "runs": {k: {"state": v.state, "seconds": v.seconds} for k, v in results.items()},
    "metrics_covered": f"{len(signals.covered_metrics())}/{len(signals.catalog.METRICS)}",
    "panels_non_empty": f"{int(panels['valores_validos'].sum())}/{len(panels)}",
    "alert_rules": len(rules_table),
    "promtool_cases": rule_tests["cases"],
    "alert_latency_s": round(trace.received - failure.ended_at, 2),
    "alert_firing_s": latencies["firing"],
    "alert_resolve_s": round(trace.resolved_received - trace.received, 1),
    "sla_alert_latency_s": sla.latency_s,
    "sla_alert_run_id": sla.run_id,
    "sla_s": settings.sla_seconds,
    "deadline_s": late.seconds,
    "sla_missed_runs": int((runs["violaciones_sla"] >= 1).sum()),
    "for_s": rule.for_s,
    "group_wait_s": alerts.routing_waits()["group_wait_s"],
    "limpia_cargados": clean.deltas["airflow_pipeline_load_records_loaded"],
    "limpia_calidad": clean.after["airflow_pipeline_transform_quality"],
    "sucia_cuarentena": dirty.deltas["airflow_pipeline_transform_errors"],
    "sucia_calidad": dirty.after["airflow_pipeline_transform_quality"],
    "screenshots": sum(s.ok for s in shots),
    "notebook_s": round(time.time() - notebook_start, 1),
}
evidence.write_summary(2, summary)
display(Markdown(day2.answers(summary)))

# %%
# NBVAL_CHECK_OUTPUT
print("estados:", {k: v["state"] for k, v in summary["runs"].items()})
print("métricas cubiertas:", summary["metrics_covered"])
print("paneles con datos:", summary["panels_non_empty"])
print("reglas de alerta:", summary["alert_rules"])
print("alerta recibida en:", trace.receiver_path, "·", trace.labels["severity"])
