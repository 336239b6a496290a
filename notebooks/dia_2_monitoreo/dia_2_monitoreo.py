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
# 6. **Ejercicios calificados** (escribes tú el PromQL y el código, contra la pila real): la
#    consulta de un panel del dashboard, una regla de alerta con su prueba unitaria de
#    `promtool test rules`, y la latencia de la alerta que causa **tu** ejecución fallida.
#    Después, las preguntas de verificación.
#
# **Cómo se califica.** Escribe solo en las celdas marcadas `# YOUR CODE HERE` (borra el
# `raise NotImplementedError()`). Las celdas de comprobación son de solo lectura: las que ves
# son las públicas; el corrector añade comprobaciones ocultas que ejecutan el `promtool` real
# sobre tu regla y tu prueba (también contra reglas equivocadas: tu prueba tiene que
# descubrirlas), evalúan tus consultas en el Prometheus vivo en los instantes de **tus**
# ejecuciones y leen en el webhook la notificación de **tu** fallo, en lugar de fiarse de lo que
# imprima el cuaderno. El corrector vuelve a ejecutar tu cuaderno desde cero con tu
# identificador (`alumno`): tus ejecuciones, tu fecha y tu semilla son solo tuyas.

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
alumno = "referencia"  # tu identificador (el corrector pone el de tu carpeta de entrega)

# %%
import tempfile
import time
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown, display
from opsbook import evidence
from opsbook.course import day1, day2, day2_sla, screenshots
from opsbook.course import day2_assignment as tarea
from opsbook.observability import alerts, charts, dashboard, prom, signals
from opsbook.settings import settings

day2.check_params(n_rows, dirty_fraction, run_timeout_s, alert_timeout_s)
alumno = day1.check_student(alumno)
work = Path(tempfile.mkdtemp(prefix="dia2_"))
notebook_start = time.time()
print("Prometheus:", settings.prometheus_url, "· webhook:", settings.webhook_url)
print(f"alumno {alumno} · fecha de tu ejecución sucia {tarea.student_date(alumno)}")

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
# `apache-airflow-client`). Cada ejecución lleva un `run_id` de tu espacio
# (`curso__<alumno>__…`) y tu semilla; la sucia procesa **tu** fecha.

# %%
plans = day2.scenarios(n_rows, dirty_fraction, seed=day1.student_seed(alumno))
results = {}
for name in ("limpia", "sucia"):
    before = day2.snapshot()
    run_id, triggered = tarea.trigger(alumno, name, plans[name])
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
# en cuarentena con su motivo), pero la calidad bajó. Solo una métrica lo cuenta:
# `airflow_pipeline_transform_errors`, el contador de filas que `transform` manda a cuarentena
# (etiqueta `dag_id`). Los dos primeros ejercicios la convierten en un panel y en una alerta.
#
# ## 3. Ejercicio 1 · El panel «Filas en cuarentena en el último minuto»
#
# Escribe en `consulta_panel` la PromQL de ese panel para `pipeline_ventas`:
#
# * **una** serie, con la etiqueta `dag_id` (solo `pipeline_ventas`, aunque otros DAGs cuenten);
# * el número **exacto** de filas puestas en cuarentena en el último minuto (un entero:
#   `increase()` extrapola y da decimales) y `0`, no vacío, cuando no hubo ninguna;
# * que también cuente un contador que **nace** con las filas ya sumadas (tras reiniciar el
#   puente StatsD su primera muestra ya vale N: no hay un "antes");
# * y que nunca dé negativo cuando el contador **vuelve a empezar** (la pila se reinició hace
#   menos de un minuto: hace 1 min valía más que ahora): entonces cuenta las filas desde el
#   reinicio.
#
# Pista: las reglas de `monitoring/prometheus/rules/pipeline.yml` que cuentan en una ventana
# (`PipelineDagFailingRepeatedly`). La comprobación pública la evalúa en el Prometheus vivo
# justo después de que `transform` terminara en tu ejecución sucia.

# %% nbgrader={"grade": false, "grade_id": "ej1_solucion", "locked": false, "schema_version": 3, "solution": true}
### BEGIN SOLUTION
consulta_panel = """
sum by (dag_id) (airflow_pipeline_transform_errors{dag_id="pipeline_ventas"})
- ((sum by (dag_id) (airflow_pipeline_transform_errors{dag_id="pipeline_ventas"} offset 1m)
    <= sum by (dag_id) (airflow_pipeline_transform_errors{dag_id="pipeline_ventas"}))
   or sum by (dag_id) (airflow_pipeline_transform_errors{dag_id="pipeline_ventas"}) * 0)
"""
### END SOLUTION
print(consulta_panel)

# %% nbgrader={"grade": true, "grade_id": "ej1_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
panel_sucia = tarea.evaluate_at(consulta_panel, tarea.transform_done_at(dirty.run_id))
assert len(panel_sucia.samples) == 1, panel_sucia.samples
(valor_panel,) = panel_sucia.values_for()
assert valor_panel == int(valor_panel), f"{valor_panel}: el panel debe dar un número exacto"
# cuenta al menos las filas de tu ejecución sucia (otra ejecución del último minuto suma)
assert valor_panel >= dirty.deltas["airflow_pipeline_transform_errors"] > 0, valor_panel
print("filas en cuarentena en el último minuto, tras tu ejecución sucia:", valor_panel)

# %% nbgrader={"grade": true, "grade_id": "ej1_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
_consulta = consulta_panel
assert tarea.owns_run(alumno, dirty.run_id), dirty.run_id
_casos = [("_x30 9x300", 45, 9), ("0x30 7x300", 45, 7), ("0x30 4x10 11x300", 50, 11),
          ("3x100 10x300", 130.5, 7), ("0x30 7x300", 150, 0), ("0x300", 45, 0),
          ("9x100 _x10 0x5 4x300", 130, 4)]  # reinicio: hace 1 min valía 9, ahora 4
_r = tarea.run_panel_cases(_consulta, _casos, work / "ej1_ocultas")
assert _r.ok, _r.output[-1500:]
_referencia = tarea.reference_panel()
_verdad = tarea.quarantined_rows(alumno)  # lo que tu ejecución sucia dejó en el almacén
assert _verdad > 0, "el almacén no tiene cuarentena en tu fecha"
for _run in (dirty, clean):  # en vivo: lo mismo que la consulta del instructor, en tus instantes
    _t = tarea.transform_done_at(_run.run_id)
    _suya, _ref = tarea.evaluate_at(_consulta, _t), tarea.evaluate_at(_referencia, _t)
    assert _suya.values_for() == _ref.values_for(), (_run.name, _suya.samples, _ref.samples)
    if _run is dirty:
        assert _suya.values_for()[0] >= _verdad, (_suya.samples, _verdad)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Ejercicio 2 · La alerta `CuarentenaDetectada` y su prueba unitaria
#
# Antes de desplegar una regla se prueba como cualquier código. Escribe:
#
# * `regla`: un `dict` como una entrada de `rules:` de Prometheus, con `alert:
#   "CuarentenaDetectada"`, `expr`, `for` (como mucho `10s`), `labels: {"severity":
#   "warning"}` y, si quieres, `annotations` de texto fijo (sin `{{ }}`). Debe dispararse para
#   cada `dag_id` en cuanto haya filas en cuarentena en el **último minuto** (ventana de `1m`),
#   también si el contador **nace** con las filas ya sumadas, y resolverse cuando pase el minuto.
# * `prueba`: la lista que iría bajo `tests:` de un fichero de `promtool test rules` (mira
#   `monitoring/prometheus/tests/pipeline_test.yml`), con `interval`, `input_series` y
#   `alert_rule_test`. Tu prueba tiene que poder **fallar**: el corrector la pasa también
#   contra reglas equivocadas y cada una debe romperla.
#
# La comprobación pública ejecuta el `promtool` real sobre tu regla y tu prueba.

# %% nbgrader={"grade": false, "grade_id": "ej2_solucion", "locked": false, "schema_version": 3, "solution": true}
### BEGIN SOLUTION
regla = {
    "alert": "CuarentenaDetectada",
    "expr": ("sum by (dag_id) (increase(airflow_pipeline_transform_errors[1m])) > 0\n"
             "or (sum by (dag_id) (airflow_pipeline_transform_errors) > 0\n"
             "    unless sum by (dag_id) (airflow_pipeline_transform_errors offset 1m))"),
    "for": "0s",
    "labels": {"severity": "warning"},
    "annotations": {"summary": "Filas en cuarentena en el último minuto"},
}
serie = 'airflow_pipeline_transform_errors{dag_id="pipeline_ventas"}'
alerta = {"exp_labels": {"severity": "warning", "dag_id": "pipeline_ventas"},
          "exp_annotations": regla["annotations"]}
prueba = [
    {"interval": "1s", "input_series": [{"series": serie, "values": "0x30 5x200"}],
     "alert_rule_test": [
         {"eval_time": "20s", "alertname": "CuarentenaDetectada", "exp_alerts": []},
         {"eval_time": "40s", "alertname": "CuarentenaDetectada", "exp_alerts": [alerta]},
         {"eval_time": "150s", "alertname": "CuarentenaDetectada", "exp_alerts": []}]},
    {"interval": "1s", "input_series": [{"series": serie, "values": "_x30 5x200"}],
     "alert_rule_test": [
         {"eval_time": "40s", "alertname": "CuarentenaDetectada", "exp_alerts": [alerta]},
         {"eval_time": "150s", "alertname": "CuarentenaDetectada", "exp_alerts": []}]},
]
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ej2_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
prueba_alumno = tarea.run_rule_test(regla, prueba, work / "ej2")
print(prueba_alumno.output)
assert prueba_alumno.ok, "promtool rechaza tu regla o tu prueba (mira la salida)"
assert prueba_alumno.cases >= 3, f"solo {prueba_alumno.cases} casos eval_time: usa al menos 3"

# %% nbgrader={"grade": true, "grade_id": "ej2_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
_regla, _prueba = tarea.check_rule(regla), prueba
_casos = [("_x30 9x300", 45, True), ("0x30 7x300", 45, True), ("0x300", 45, False),
          ("0x30 7x300", 150, False), ("_x30 9x300", 150, False), ("0x30 7x300", 20, False)]
_r = tarea.run_alert_cases(_regla, _casos, work / "ej2_ocultas")
assert _r.ok, _r.output[-1500:]
_serie = "airflow_pipeline_transform_errors"
_mutantes = [f"sum by (dag_id) ({_serie}) < 0", f"sum by (dag_id) ({_serie}) >= 0",
             f"sum by (dag_id) (increase({_serie}[1m])) > 0",
             f"sum by (dag_id) (increase({_serie}[10m])) > 0 or sum by (dag_id) ({_serie}) > 0"]
_vivos = tarea.survivors(_regla, _prueba, _mutantes, work / "ej2_mutantes")
assert not _vivos, f"tu prueba no distingue estas reglas equivocadas: {_vivos}"
_referencia = tarea.reference_alert_expr(_serie)
_t_sucia = tarea.transform_done_at(dirty.run_id)
assert tarea.evaluate_at(_regla["expr"], _t_sucia).values_for(), \
    "tu regla no se cumple en el Prometheus vivo tras tu ejecución sucia"
_t_limpia = tarea.transform_done_at(clean.run_id)
assert (bool(tarea.evaluate_at(_regla["expr"], _t_limpia).values_for())
        == bool(tarea.evaluate_at(_referencia, _t_limpia).values_for())), "tras tu ejecución limpia"
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Un fallo inyectado y una alerta de principio a fin
#
# Ahora un **fallo inyectado** (`fail_at="transform"`: la tarea falla en cada reintento) y, nada
# más terminar, una ejecución lenta que incumplirá su **deadline** (el SLA de Airflow 3:
# `DeadlineAlert`).

# %%
before = day2.snapshot()
run_id, triggered = tarea.trigger(alumno, "fallo", plans["fallo"])
results["fallo"] = day2.finish("fallo", run_id, triggered, before, run_timeout_s)
failure = results["fallo"]
print(f"fallo: {failure.state} en {failure.seconds} s")
day2_sla.wait_sla_quiet(alert_timeout_s)  # su alerta de SLA será un episodio nuevo, solo suyo
before_deadline = day2.snapshot()
deadline_run, deadline_triggered = tarea.trigger(alumno, "deadline", plans["deadline"])
print("ejecución lenta lanzada:", deadline_run)

# %%
assert failure.state == "failed"
assert failure.deltas["airflow_pipeline_dag_failure"] == 1
assert failure.deltas["airflow_pipeline_dag_success"] == 0

# %% [markdown]
# `PipelineDagFailed` (warning) se vuelve verdadera cuando el contador de fallos sube; tras su
# `for` pasa de *pending* a *firing*, Prometheus la envía a Alertmanager, que espera
# `group_wait` y la entrega al webhook en `/alerts/warning`. Cuando la ventana de la regla (30 s)
# deja de ver el fallo, se resuelve y llega la notificación `resolved`.
#
# ### Ejercicio 3 · La latencia de **tu** alerta
#
# Sigue la alerta `PipelineDagFailed` que causó **tu** ejecución fallida (`failure`) hasta que
# llegue su notificación `resolved`, con `alerts.follow(nombre, origen, match=...,
# until="resolved_received", timeout_s=alert_timeout_s, episode_after=...)`: el origen es el
# instante en que Airflow marcó tu ejecución como fallida (`failure.ended_at`) y solo vale el
# episodio que empezó después (otra ejecución, de hoy o de otro alumno, no es la tuya). Guarda
# la traza en `traza` y en `latencia_alerta` los segundos desde ese instante hasta que el
# webhook recibió la notificación *firing*.

# %%
rule = signals.alert_rule("PipelineDagFailed")
print(f"{rule.name}: for {rule.for_s:g} s · severidad {rule.severity}")

# %% nbgrader={"grade": false, "grade_id": "ej3_solucion", "locked": false, "schema_version": 3, "solution": true}
### BEGIN SOLUTION
traza = alerts.follow(rule.name, failure.ended_at, match={"dag_id": day2.DAG_ID},
                      until="resolved_received", timeout_s=alert_timeout_s,
                      episode_after=failure.ended_at - 1)
latencia_alerta = round(traza.received - failure.ended_at, 3)
### END SOLUTION
print(f"latencia de tu alerta: {latencia_alerta} s")

# %% nbgrader={"grade": true, "grade_id": "ej3_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
assert traza.alertname == rule.name and traza.received is not None
assert traza.active_at <= traza.firing <= traza.resolved
assert traza.firing - traza.active_at >= rule.for_s - 1  # pending al menos el `for`
assert traza.received >= traza.firing - 1 and traza.resolved_received > traza.received
assert traza.receiver_path == "/alerts/warning" and traza.labels["severity"] == "warning"
assert traza.labels["incident_type"] == "dag_failure"
assert 0 < latencia_alerta <= alert_timeout_s, latencia_alerta

# %% nbgrader={"grade": true, "grade_id": "ej3_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
_latencia, _recibida = latencia_alerta, traza.received
_propia = tarea.run_alert(failure.run_id)
assert tarea.owns_run(alumno, _propia.run_id) and _propia.state == "failed", _propia
assert _propia.received_at is not None, "el webhook no recibió la alerta de tu ejecución"
assert abs(_latencia - _propia.latency_s) <= 0.5, (_latencia, _propia.latency_s)
assert abs(_recibida - _propia.received_at) <= 0.5, (_recibida, _propia.received_at)
### END HIDDEN TESTS

# %%
latencies = traza.latencies()
display(pd.DataFrame([latencies], index=["segundos desde el fallo"]).T)
evidence.save_json(2, "alerta_ciclo_de_vida", traza.as_dict(), "Etapas de PipelineDagFailed")
fig = charts.alert_timeline_figure(traza)
evidence.save_figure(2, "alerta_ciclo_de_vida", fig, "Ciclo de vida de la alerta")
display(fig)

# %% [markdown]
# ## 6. El deadline incumplido
#
# El SLA es de `settings.sla_seconds` segundos desde que la ejecución entra en cola; la ejecución
# lenta espera en `transform` hasta que su deadline vence y se cuenta (`until_sla_miss`). El
# callback del `DeadlineAlert` corre en el triggerer, suma `sla_violations` y la alerta
# `PipelineSlaMissed` llega al webhook.
#
# La ejecución fallida de la sección 5 también llega a su deadline (Airflow 3.3 solo lo retira
# cuando la ejecución termina con éxito), pero el callback no la cuenta: ya había fallado y
# `PipelineDagFailed` avisó; contarla como SLA avisaría dos veces por una sola causa.
#
# La latencia se mide **para esta ejecución**: antes de lanzarla esperamos a que ninguna
# ejecución anterior pudiera aún contar una violación y a que no hubiera ningún episodio de
# `PipelineSlaMissed` activo; ahora solo vale la notificación cuyo
# `startsAt` es posterior al vencimiento de su deadline. Una notificación de otra ejecución
# (de hoy, de una ejecución anterior del cuaderno o de otro alumno) nunca se confunde con la
# suya, así que la latencia no puede salir negativa.

# %%
results["deadline"] = day2.finish("deadline", deadline_run, deadline_triggered, before_deadline,
                                  run_timeout_s)
day2.wait_sla_violation(before_deadline, timeout_s=120)
late = results["deadline"]
sla = day2_sla.sla_alert(late, timeout_s=alert_timeout_s)
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
# ## 7. Prometheus desde pandas: consultas instantáneas y de rango

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
# ## 8. El dashboard, panel a panel
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
# ## 9. La interfaz real de Prometheus
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
# ## 10. Resumen y preguntas de verificación

# %%
summary = {
    "runs": {k: {"state": v.state, "seconds": v.seconds} for k, v in results.items()},
    "metrics_covered": f"{len(signals.covered_metrics())}/{len(signals.catalog.METRICS)}",
    "panels_non_empty": f"{int(panels['valores_validos'].sum())}/{len(panels)}",
    "alert_rules": len(rules_table),
    "promtool_cases": rule_tests["cases"],
    "alert_latency_s": round(traza.received - failure.ended_at, 2),
    "alert_firing_s": latencies["firing"],
    "alert_resolve_s": round(traza.resolved_received - traza.received, 1),
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
print("alerta recibida en:", traza.receiver_path, "·", traza.labels["severity"])

# %% [markdown]
# ### Preguntas de verificación calificadas
#
# Responde con las cifras de **tu** ejecución. Las tres primeras se califican solas; la última
# es abierta y la revisa el instructor.
#
# **P1.** ¿Cuántas filas mandó a cuarentena tu ejecución sucia? Asigna el número (entero) a
# `respuesta_p1`.
#
# **P2.** ¿Por qué `increase(x[1m]) > 0`, sola, no basta para tu regla? a) porque `increase`
# extrapola y da decimales; b) porque un contador que **nace** con su primer valor ya sumado no
# tiene una muestra anterior y `increase` no ve ese salto; c) porque Prometheus borra las
# series que no cambian en un minuto. Asigna la letra a `respuesta_p2`.
#
# **P3.** ¿Cuántos segundos pasaron desde que venció el deadline de tu ejecución lenta hasta
# que el webhook recibió su `PipelineSlaMissed`? Asigna el número a `respuesta_p3`.

# %% nbgrader={"grade": false, "grade_id": "p_respuestas", "locked": false, "schema_version": 3, "solution": true}
### BEGIN SOLUTION
respuesta_p1 = int(dirty.deltas["airflow_pipeline_transform_errors"])
respuesta_p2 = "b"
respuesta_p3 = sla.latency_s
### END SOLUTION
print(respuesta_p1, respuesta_p2, respuesta_p3)

# %% nbgrader={"grade": true, "grade_id": "p1", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert isinstance(respuesta_p1, int)
### BEGIN HIDDEN TESTS
assert respuesta_p1 == tarea.quarantined_rows(alumno) > 0
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "p2", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert respuesta_p2 in ("a", "b", "c")
### BEGIN HIDDEN TESTS
assert respuesta_p2 == "b"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "p3", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert isinstance(respuesta_p3, int | float)
### BEGIN HIDDEN TESTS
assert tarea.owns_run(alumno, late.run_id), late.run_id
assert abs(respuesta_p3 - day2_sla.sla_alert(late, timeout_s=30).latency_s) <= 1, respuesta_p3
### END HIDDEN TESTS

# %% [markdown]
# **P4 (abierta).** Tu `CuarentenaDetectada` es una advertencia. ¿Qué condición la haría
# **crítica** y por qué? Apóyate en una cifra de hoy (tu cuarentena, tu latencia o el SLA).

# %% [markdown] nbgrader={"grade": true, "grade_id": "p4_abierta", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# Crítica cuando el problema persiste o es grande, no por existir: más del 25 % de las filas
# en cuarentena (`PipelineErrorRateCritical`: la fuente o el esquema cambió), o cuarentena en varias
# ejecuciones seguidas. Mi ejecución sucia puso en cuarentena un 8 % de sus filas y terminó en
# `success`: es una advertencia que alguien revisa de día, no una página a las 3 de la mañana;
# la latencia de mi alerta (unos segundos: `for` + `group_wait`) no cambia esa decisión.
# ### END SOLUTION

# %% [markdown]
# ## 11. Resumen del día
#
# Qué ha demostrado **tu** ejecución: cada comprobación visible que ha pasado en este kernel
# (las ocultas solo las ejecuta el corrector) y, cuando el instructor ya ha calificado el día,
# tu nota por ejercicio.

# %%
from opsbook.course import recap

recap.mostrar(dia=2, alumno=alumno)
