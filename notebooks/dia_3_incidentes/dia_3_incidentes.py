# ---
# jupyter:
#   kernelspec:
#     display_name: Python (opsbook)
#     language: python
#     name: opsbook
# ---

# %% [markdown]
# # Día 3 · Gestión de incidentes y respuesta operacional
#
# Ayer las alertas llegaron al webhook del stack. Hoy ese webhook **responde**: cada
# notificación de Alertmanager entra en un runbook automático que abre un incidente, lo
# diagnostica, lo recupera, verifica la recuperación y, si no puede, escala según la severidad.
# No simulamos nada: matamos el scheduler de verdad, dejamos un archivo corrupto en la zona de
# aterrizaje y dejamos el almacén sin conexiones en plena carga.
#
# **Objetivos**
#
# 1. Conocer el catálogo de incidentes (conectividad, datos, recursos, lógica) con su severidad,
#    su alerta de detección, sus chequeos de diagnóstico y sus acciones de recuperación.
# 2. Ver el runbook automático en acción: detectar → diagnosticar → recuperar → verificar → escalar,
#    cada paso con marca de tiempo.
# 3. Ejecutar tres simulacros reales (`pipeline_down`, `data_corruption`, `db_unreachable`),
#    medir su MTTR y comprobar que no se pierde ninguna fila.
# 4. Ver un escalado de verdad: una advertencia que nadie repara pasa a crítica y avisa a una
#    persona (receptor `human-pager` de Alertmanager), anotado en la línea de tiempo.
# 5. Generar el post-mortem a partir de la línea de tiempo real.
# 6. **Ejercicios calificados** (escribes tú el código, contra la pila real): un paso de
#    recuperación que repara de verdad tu simulacro `pipeline_down`, un clasificador de
#    incidentes a partir de la alerta y su diagnóstico, y el post-mortem de **tu** simulacro
#    escrito a partir de la línea de tiempo que registró la pila.
# 7. Responder las preguntas de verificación con lo medido.
#
# **Cómo se califica.** Escribe solo en las celdas marcadas `# YOUR CODE HERE` (borra el
# `raise NotImplementedError()`). Las celdas de comprobación son de solo lectura: las que ves
# son las públicas; el corrector añade comprobaciones ocultas que consultan la pila (el almacén
# de incidentes `var/incidents`, supervisord y Alertmanager) en lugar de fiarse de lo que
# imprima el cuaderno, y casos del catálogo que no has visto. El corrector vuelve a ejecutar tu
# cuaderno desde cero con tu identificador (`alumno`): tu simulacro es un episodio nuevo y
# separado, su incidente lleva tu identificador y solo cuentan los incidentes de tu sesión.

# %% [markdown]
# Antes de empezar: comprobamos en un segundo que está todo lo que necesita el día (si falta algo, el
# mensaje dice qué comando lo arregla).

# %%
from opsbook.course.preflight import preparar

preparar(dia=3)

# %% tags=["parameters"]
drills_to_run = ["pipeline_down", "data_corruption", "db_unreachable"]  # simulacros a ejecutar
timeout_s = 900.0  # plazo máximo de cada espera dentro de un simulacro (60..3600 s)
alumno = "referencia"  # tu identificador (el corrector pone el de tu carpeta de entrega)

# %%
import pandas as pd
from IPython.display import Markdown, display
from opsbook import evidence
from opsbook.course import day1, day3
from opsbook.course import day3_exercises as day3x
from opsbook.incidents import drills, escalation, runbook
from opsbook.incidents.catalog import CATEGORIES, catalog

day3.check_params(drills_to_run, timeout_s)
day1.check_student(alumno)
inicio_sesion = day3x.session_start()
print("simulacros:", drills_to_run, "· alumno:", alumno)

# %% [markdown]
# ## 1. El catálogo de incidentes
#
# El catálogo es **un archivo de datos** (`lib/opsbook/incidents/incidents.yml`), no una cadena de
# `if`. El motor del runbook lo lee: para cada tipo sabe qué alerta lo detecta (la clave del tipo
# es la etiqueta `incident_type` que ponen las reglas de Prometheus, y cada tipo tiene al menos
# una regla que lo dispara), qué chequeos ejecutar y qué acciones probar, en orden. Los tipos
# con `automatico = False` solo se diagnostican y se escalan: volver a ejecutar un código con un
# bug o un fichero con otro esquema no arregla nada.

# %%
cat = catalog()
catalog_table = day3.catalog_frame()
evidence.save_frame(3, "catalogo_incidentes", catalog_table, "Catálogo de incidentes (datos)")
display(catalog_table)

# %%
assert set(catalog_table["categoria"]) == {cat.categories[c] for c in CATEGORIES}
assert catalog_table.groupby("categoria").size().min() >= 3
assert set(catalog_table["severidad"]) <= {"SEV-1", "SEV-2", "SEV-3", "SEV-4"}

# %% [markdown]
# ### Severidad, escalado y métricas de respuesta
#
# La severidad decide **a quién** se avisa y **con qué plazo** cuando la recuperación automática
# no basta. Las métricas de respuesta se definen de forma explícita para que todos midan lo mismo:

# %%
display(day3.severity_frame())
for name, text in cat.metrics.items():
    display(Markdown(f"- **{name}** — {text}"))

# %% [markdown]
# ## 2. El runbook forma parte del stack
#
# El receptor de alertas (`python -m opsbook.incidents.responder`) corre bajo supervisord junto a
# Airflow y llama a `opsbook.incidents.runbook.on_notification` con cada notificación. Por eso también
# un fallo **no anunciado** se remedia solo. Un interruptor (`opsbook runbook automation
# off`) apaga la remediación para discutir en clase; con él apagado los simulacros se niegan a
# empezar, porque nadie respondería:

# %%
runbook.set_automation(False)
try:
    drills.run("pipeline_down")
    refused = None
except drills.DrillRefused as exc:
    refused = str(exc)
finally:
    runbook.set_automation(True)
print("simulacro rechazado:", refused)

# %%
assert refused and "automatización" in refused
assert runbook.automation_enabled()

# %% [markdown]
# ## 3. Simulacros reales
#
# Cada simulacro **solo provoca el fallo y observa**. La alerta recorre Prometheus →
# Alertmanager → receptor → runbook; el simulacro espera a que el runbook termine, comprueba
# los conteos de filas y guarda la línea de tiempo en `evidencia/dia_3/`. Al terminar deja la
# pila sana o dice exactamente qué sigue roto.
#
# Un simulacro se puede **repetir** (otra vez este cuaderno, otro alumno, tras reiniciar la
# pila): antes de empezar espera, con plazo, a que termine el episodio de su alerta
# disparadora anterior, y el fallo nuevo abre un incidente nuevo y separado. Una alerta
# hermana de ventana larga que siga activa (la crítica de cargas repetidas mira 10 min atrás)
# no lo impide.
#
# ### 3.1 `pipeline_down`: `kill -9` al scheduler
#
# #### Ejercicio 1 · Tu paso de recuperación repara el simulacro
#
# Matamos el proceso del scheduler y disparamos una ejecución que tendrá que esperar. La regla
# `AirflowSchedulerDown` ve que el contador de heartbeat deja de cambiar y Alertmanager la
# notifica. **Esta vez no responde el runbook de la pila**: durante tu simulacro la
# automatización se apaga y la alerta (la de verdad, leída de Alertmanager) la atiende el mismo
# motor de runbook con **tu paso** en lugar de la acción `restart_scheduler` del catálogo:
# diagnóstico del catálogo → tu paso → verificación del catálogo (`stack_healthy`: un scheduler
# vivo que late **después** de tu reinicio). El incidente se guarda en la pila con tu
# identificador y se cierra cuando Alertmanager da la alerta por resuelta; al terminar, la
# automatización vuelve a encenderse.
#
# Un `kill -9` mata un proceso, no a sus hijos: los workers del LocalExecutor quedarían vivos
# como huérfanos que supervisord ya no conoce. El simulacro anota el árbol de procesos antes
# de matar y, justo después, recoge por pid a los hijos que quedan (paso «hijos huérfanos del
# scheduler recogidos»). Cuántos hay depende del momento: el executor de esta pila crea sus
# workers al llegar trabajo y los retira tras 30 s sin tareas, así que un scheduler ocioso puede
# no dejar ninguno; lo que no puede pasar es que alguno sobreviva.
#
# Escribe `reiniciar_scheduler(ctx)` con `stack.component_pid`, `psutil.pid_exists` y
# `stack.start_component` (no llames a `opsbook.incidents.recovery`: es lo que sustituyes):
#
# 1. **idempotente**: si el scheduler está vivo no hace nada y devuelve `Outcome(True, ...)`
#    (el simulacro lo comprueba llamándolo una vez con la pila sana, antes del fallo: sin cambiar
#    ningún proceso);
# 2. si no hay scheduler vivo, guarda en `ctx["restarted_at"]` la hora (`time.time()`) **antes**
#    de arrancarlo (la verificación exige un latido posterior), lo arranca con supervisord y devuelve
#    `Outcome(True, {"pid_anterior": ..., "pid_nuevo": ...})`.

# %%
import time

import psutil
from opsbook.incidents.outcome import Outcome
from opsbook.stack import lifecycle as stack

print("scheduler ahora: pid", stack.component_pid("scheduler"))

# %% nbgrader={"grade": false, "grade_id": "ej1_solucion", "locked": false, "schema_version": 3, "solution": true}
def reiniciar_scheduler(ctx: dict) -> Outcome:
    """Paso de recuperación de pipeline_down: arranca el scheduler si no está vivo."""
    ### BEGIN SOLUTION
    vivo = stack.component_pid("scheduler")
    if vivo and psutil.pid_exists(vivo):
        return Outcome(True, {"accion": "ninguna (ya vivo)", "pid": vivo})
    reinicio = time.time()
    ctx["restarted_at"] = reinicio
    stack.start_component("scheduler", timeout_s=120)
    return Outcome(True, {"pid_anterior": vivo, "pid_nuevo": stack.component_pid("scheduler")})
    ### END SOLUTION


# %%
results = {}
if "pipeline_down" in drills_to_run:
    results["pipeline_down"] = drills.run("pipeline_down", timeout_s=timeout_s, owner=alumno,
                                          actions={day3x.RECOVERY_ACTION: reiniciar_scheduler})
    drills.save_evidence(results["pipeline_down"])
    display(day3.timeline_frame(results["pipeline_down"]))

# %% nbgrader={"grade": true, "grade_id": "ej1_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
if "pipeline_down" in drills_to_run:
    r = results["pipeline_down"]
    assert r.incident and r.incident["labels"].get("alumno") == alumno, "sin incidente tuyo"
    assert r.incident["status"] == "recovered", [(e["phase"], e["step"], e["ok"], e["detail"])
                                                 for e in r.incident["timeline"]]
    assert any(e["phase"] == "recover" and e["step"] == day3x.RECOVERY_ACTION and e["ok"]
               for e in r.incident["timeline"])
    print("incidente", r.incident["id"], "recuperado con tu paso · MTTR", r.mttr_s, "s")

# %% nbgrader={"grade": true, "grade_id": "ej1_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
_con_simulacro = "pipeline_down" in drills_to_run
if _con_simulacro:
    _problemas = day3x.recovery_problems(alumno, inicio_sesion)
    assert not _problemas, _problemas
### END HIDDEN TESTS

# %%
if "pipeline_down" in results:
    fig = day3.timeline_figure(results["pipeline_down"])
    evidence.save_figure(3, "timeline_pipeline_down", fig, "Fases del runbook en pipeline_down")

# %%
if "pipeline_down" in results:
    r = results["pipeline_down"]
    assert r.ok, r.still_broken or [e for e in r.events if e["ok"] is False]
    assert r.incident["status"] == "recovered"
    assert r.rows_loaded == r.rows_expected
    assert r.impact["runs_delayed"] >= 1
    assert r.reaped["survivors"] == [], r.reaped  # ningún huérfano vivo
    print("huérfanos del scheduler recogidos:", len(r.reaped["orphans"]))

# %% [markdown]
# ### 3.2 `data_corruption`: un archivo de aterrizaje corrupto
#
# Dejamos a mano `ventas_<fecha>.csv` con un 30 % de filas defectuosas. El pipeline **no
# carga basura ni falla**: pone en cuarentena cada fila mala con su motivo y la calidad cae. La
# alerta de calidad abre el incidente; el runbook lee el informe de cuarentena, restaura el
# almacén desde el checkpoint previo a la carga, espera a que el archivo corregido valide sin
# errores y reprocesa la fecha.

# %%
if "data_corruption" in drills_to_run:
    results["data_corruption"] = drills.run("data_corruption", timeout_s=timeout_s)
    drills.save_evidence(results["data_corruption"])
    display(day3.timeline_frame(results["data_corruption"]))
    print("primera carga:", results["data_corruption"].first_load)

# %%
if "data_corruption" in results:
    fig = day3.timeline_figure(results["data_corruption"])
    evidence.save_figure(3, "timeline_data_corruption", fig, "Fases del runbook en data_corruption")
    r = results["data_corruption"]
    assert r.ok, r.still_broken or [e for e in r.events if e["ok"] is False]
    first = r.first_load
    assert first["en_cuarentena"] > 0
    assert first["cargadas"] + first["en_cuarentena"] == r.rows_expected  # ninguna fila perdida
    assert r.rows_loaded == r.rows_expected

# %% [markdown]
# ### 3.3 `db_unreachable`: el almacén rechaza conexiones durante la carga
#
# El almacén deja de aceptar conexiones (en PostgreSQL, `ALLOW_CONNECTIONS false`; en SQLite un
# marcador que la conexión respeta). La tarea `load` reintenta y falla; la alerta de carga abre
# el incidente; el runbook espera a que el almacén vuelva y limpia las tareas fallidas con la
# API REST (`dry_run: false`). Como la carga es una única transacción por fecha, el fallo no
# deja **ninguna carga parcial**.

# %%
if "db_unreachable" in drills_to_run:
    results["db_unreachable"] = drills.run("db_unreachable", timeout_s=timeout_s)
    drills.save_evidence(results["db_unreachable"])
    display(day3.timeline_frame(results["db_unreachable"]))

# %%
if "db_unreachable" in results:
    fig = day3.timeline_figure(results["db_unreachable"])
    evidence.save_figure(3, "timeline_db_unreachable", fig, "Fases del runbook en db_unreachable")
    r = results["db_unreachable"]
    assert r.ok, r.still_broken or [e for e in r.events if e["ok"] is False]
    partial = next(e for e in r.events if "sin carga parcial" in e["step"])
    assert partial["ok"], partial["detail"]
    assert r.rows_loaded == r.rows_expected

# %% [markdown]
# ### 3.4 Escalado en vivo: una advertencia que nadie repara acaba en una persona
#
# El último paso del runbook es **escalar**. Lo provocamos de verdad: dejamos en el bundle de
# simulacros un DAG que no importa. El dag-processor lo informa, salta la **advertencia**
# `AirflowDagImportErrors` y el runbook abre un incidente que no puede reparar (arreglar código
# es cosa de personas: tipo `circular_dependency`, `automatico = False`). Nadie lo repara: a los
# 10 s la regla `AirflowDagImportErrorsUnrepaired` (`monitoring/prometheus/rules/escalation.yml`,
# que lee la serie `ALERTS` de la advertencia) pasa a **crítica** con la etiqueta
# `escalate="human"`, Alertmanager la enruta al receptor `human-pager` (`/alerts/human`) y el
# runbook anota la **página a una persona** en la línea de tiempo del *mismo* incidente. Solo
# entonces reparamos (retiramos el archivo) y esperamos a que la alerta se resuelva.

# %%
escalado = escalation.run(timeout_s=timeout_s)
evidence.save_json(3, "escalado_advertencia_critica_humano", escalado.to_dict(),
                   "Escalado en vivo: advertencia → crítica → página humana")
display(pd.DataFrame(escalado.steps()))
print("duraciones:", escalado.durations)

# %%
pasos = [e for e in escalado.timeline if e["phase"] in ("detect", "escalate")]
display(pd.DataFrame(pasos)[["ts", "phase", "step", "ok"]])
pagina = next(e for e in escalado.timeline if e["step"].startswith(escalation.PAGE_STEP))
assert pagina["detail"]["alertname"] == escalation.CRITICAL and pagina["detail"]["severity"] == "critical"
assert escalado.receiver == "human-pager"
assert escalado.fault_at < escalado.warning_at < escalado.critical_at <= escalado.paged_at < escalado.repaired_at
assert 8 <= escalado.durations["advertencia_a_critica_s"] <= 20, escalado.durations  # el `for` de 10 s
assert escalado.timeline[0]["detail"]["labels"]["alertname"] == escalation.WARNING  # lo abrió la advertencia
assert [p["canal"] for p in escalado.pages][-1] == "page-humano"
assert escalado.resolved_at, "la advertencia se resuelve tras la reparación"

# %% [markdown]
# ## 4. MTTR por simulacro
#
# El MTTR se mide desde el fallo hasta la verificación del runbook. La parte roja es la
# detección: la acotan la ventana de la regla, los intervalos de scrape y evaluación, el `for`
# y el `group_wait` de Alertmanager.

# %%
mttr = day3.mttr_frame(results)
evidence.save_frame(3, "mttr_simulacros", mttr, "MTTD/MTTA/MTTR y filas por simulacro")
fig = day3.mttr_figure(mttr)
evidence.save_figure(3, "mttr_simulacros", fig, "MTTR por simulacro (detección vs resto)")
display(mttr)

# %%
assert mttr["ok"].all()
assert (mttr["filas_perdidas"] == 0).all()
assert (mttr["mttr_s"] > mttr["mttd_s"]).all()

# %% [markdown]
# ## 5. El post-mortem, generado de la línea de tiempo
#
# Ninguna cifra del documento está escrita a mano: impacto (ejecuciones retrasadas, filas que
# llegaron tarde, minutos de SLA perdidos), MTTD/MTTA/MTTR y lecciones salen de los eventos
# registrados.

# %%
if "pipeline_down" in results:
    pm_path = evidence.day_dir(3) / "post_mortem_pipeline_down.md"
    display(Markdown(pm_path.read_text(encoding="utf-8")))

# %%
if "pipeline_down" in results:
    text = pm_path.read_text(encoding="utf-8")
    assert results["pipeline_down"].incident["id"] in text
    assert f"**{results['pipeline_down'].mttr_s} s**" in text
    for heading in ("Resumen ejecutivo", "Línea de tiempo", "Impacto", "causa raíz",
                    "Lecciones aprendidas", "Acciones correctivas", "Prevención"):
        assert heading in text, heading

# %% [markdown]
# ## 6. Ejercicio 2 · Clasificar un incidente a partir de la alerta y su diagnóstico
#
# Escribe `clasificar(alerta, diagnostico)`. `alerta` es como la manda Alertmanager (un dict con
# `labels`); `diagnostico` es como lo guarda el runbook (`incidente.diagnosis`: nombre del
# chequeo → `{"ok": bool, "detail": ...}`). Devuelve `None` si el catálogo no conoce la alerta;
# si no, un dict con:
#
# - `tipo`: la etiqueta `incident_type` manda; sin ella, el tipo cuya alerta principal
#   (`catalog().types[...].alert`) es `alertname` (`cat.match` hace exactamente eso). **Pero**
#   `dag_failure` solo dice que la ejecución falló: si el diagnóstico `failed_task_logs` nombra
#   en `detail["tareas"]` una tarea en estado `"failed"` de `day3x.FAILED_TASK_TYPES`, el tipo es
#   el de esa tarea (una tarea que aún reintenta, `up_for_retry`, no cuenta);
# - `severidad`: la del tipo;
# - `decision`: `"recuperar"` si el catálogo permite la recuperación automática, si no
#   `"escalar"`;
# - `avisar`: los destinatarios del escalado de esa severidad (`cat.escalation_for`) cuando se
#   escala; `[]` cuando se recupera solo.
#
# El corrector lo prueba con casos construidos del catálogo real que no ves aquí y con los
# incidentes que la pila registró durante **tu** sesión.

# %%
print("tareas con tipo propio:", day3x.FAILED_TASK_TYPES)
print("incidentes de tu sesión:", [(i.id, i.type) for i in day3x.session_incidents(inicio_sesion)])

# %% nbgrader={"grade": false, "grade_id": "ej2_solucion", "locked": false, "schema_version": 3, "solution": true}
def clasificar(alerta: dict, diagnostico: dict) -> dict | None:
    """Tipo, severidad, decisión y a quién avisar para una alerta con su diagnóstico."""
    ### BEGIN SOLUTION
    tipo = cat.match(alerta.get("labels", {}))
    if tipo is None:
        return None
    if tipo.key == "dag_failure":
        detalle = (diagnostico.get("failed_task_logs") or {}).get("detail") or {}
        for tarea, estado in detalle.get("tareas", {}).items():
            if estado == "failed" and tarea in day3x.FAILED_TASK_TYPES:
                tipo = cat.get(day3x.FAILED_TASK_TYPES[tarea])
                break
    if tipo.auto:
        return {"tipo": tipo.key, "severidad": tipo.severity, "decision": "recuperar",
                "avisar": []}
    return {"tipo": tipo.key, "severidad": tipo.severity, "decision": "escalar",
            "avisar": list(cat.escalation_for(tipo.severity)["destinatarios"])}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ej2_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
assert clasificar({"labels": {"alertname": "AirflowSchedulerDown",
                              "incident_type": "pipeline_down"}}, {}) == {
    "tipo": "pipeline_down", "severidad": "SEV-1", "decision": "recuperar", "avisar": []}
assert clasificar({"labels": {"alertname": "PipelineSchemaChange"}}, {}) == {
    "tipo": "schema_change", "severidad": "SEV-2", "decision": "escalar",
    "avisar": ["on-call de datos"]}
_fallo_carga = {"failed_task_logs": {"ok": False, "detail": {"tareas": {"load": "failed"}}}}
assert clasificar({"labels": {"alertname": "PipelineDagFailed", "incident_type": "dag_failure"}},
                  _fallo_carga)["tipo"] == "db_unreachable"
assert clasificar({"labels": {"alertname": "Watchdog"}}, {}) is None
print("casos públicos: 4 correctos")

# %% nbgrader={"grade": true, "grade_id": "ej2_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
for _caso in day3x.classification_cases(alumno):
    _suyo = clasificar(_caso["alerta"], _caso["diagnostico"])
    assert _suyo == _caso["esperado"], (_caso["alerta"]["labels"], _suyo, _caso["esperado"])
_reales = day3x.session_incidents(inicio_sesion)
assert _reales, "la pila no registró incidentes en esta sesión"
for _inc in _reales:
    _caso = day3x.alert_of(_inc)
    _suyo = clasificar(_caso["alerta"], _caso["diagnostico"])
    assert _suyo == day3x.expected_for(_inc), (_inc.id, _suyo, day3x.expected_for(_inc))
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Ejercicio 3 · El post-mortem de tu simulacro, desde la línea de tiempo de la pila
#
# El post-mortem de la sección 5 lo escribió el proyecto. Ahora lo escribes tú para **tu**
# incidente de `pipeline_down` (el que atendió tu paso del ejercicio 1), tal como lo guardó la
# pila en `var/incidents`. Escribe `redactar_postmortem(incidente)` (un
# `opsbook.incidents.timeline.Incident`) que devuelva un dict con:
#
# - `causa_raiz`: un texto que nombra **todos** los chequeos del diagnóstico que fallaron
#   (`incidente.diagnosis`, `ok` falso) y **ninguno** de los que pasaron;
# - `linea_de_tiempo`: un dict por evento de `incidente.timeline`, en orden de tiempo, con
#   `t_s` (segundos desde `incidente.started_at`, con al menos una décima), `fase` y `paso`
#   (los `phase` y `step` registrados);
# - `acciones`: las de recuperación y escalado que se ejecutaron, en orden, como
#   `{"paso": ..., "ok": ...}`;
# - `mttr_s`: segundos desde el inicio hasta la recuperación verificada (`None` si no se
#   recuperó).
#
# El corrector lo compara con el incidente que la pila registró para tu simulacro y lo aplica
# también a los demás incidentes de tu sesión (datos, almacén, escalado a una persona).

# %%
mi_incidente = day3x.student_incident(alumno, inicio_sesion)
if mi_incidente is not None:
    display(pd.DataFrame(mi_incidente.timeline)[["ts", "phase", "step", "ok", "duration_s"]])
    print("diagnóstico:", {k: v["ok"] for k, v in mi_incidente.diagnosis.items()})

# %% nbgrader={"grade": false, "grade_id": "ej3_solucion", "locked": false, "schema_version": 3, "solution": true}
def redactar_postmortem(incidente) -> dict:
    """Causa raíz, línea de tiempo, acciones y MTTR de un incidente registrado."""
    ### BEGIN SOLUTION
    fallidos = [nombre for nombre, r in incidente.diagnosis.items() if not r["ok"]]
    causa = (f"{incidente.title}: el diagnóstico falló en {', '.join(fallidos)}" if fallidos
             else f"{incidente.title}: ningún chequeo del diagnóstico falló")
    eventos = sorted(incidente.timeline, key=lambda e: e["t"])
    linea = [{"t_s": round(e["t"] - incidente.started_at, 2), "fase": e["phase"],
              "paso": e["step"]} for e in eventos]
    acciones = [{"paso": e["step"], "ok": e["ok"]} for e in eventos
                if e["phase"] in {"recover", "escalate"}]
    mttr = (incidente.recovered_at - incidente.started_at) if incidente.recovered_at else None
    return {"causa_raiz": causa, "linea_de_tiempo": linea, "acciones": acciones, "mttr_s": mttr}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ej3_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
if "pipeline_down" in drills_to_run:
    mi_pm = redactar_postmortem(mi_incidente)
    assert set(mi_pm) >= {"causa_raiz", "linea_de_tiempo", "acciones", "mttr_s"}, set(mi_pm)
    assert "scheduler_process" in mi_pm["causa_raiz"], mi_pm["causa_raiz"]
    assert len(mi_pm["linea_de_tiempo"]) == len(mi_incidente.timeline)
    assert mi_pm["acciones"][0] == {"paso": day3x.RECOVERY_ACTION, "ok": True}, mi_pm["acciones"]
    print(mi_pm["causa_raiz"], "· MTTR", mi_pm["mttr_s"])

# %% nbgrader={"grade": true, "grade_id": "ej3_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
_con_simulacro = "pipeline_down" in drills_to_run
if _con_simulacro:
    _mio = day3x.student_incident(alumno, inicio_sesion)  # releído de la pila
    assert _mio is not None, "la pila no tiene tu incidente"
    _p = day3x.postmortem_problems(redactar_postmortem(_mio), _mio)
    assert not _p, _p
_otros = [i for i in day3x.session_incidents(inicio_sesion) if i.type != "pipeline_down"]
assert _otros, "la pila no registró otros incidentes en esta sesión"
for _inc in _otros:
    _p = day3x.postmortem_problems(redactar_postmortem(_inc), _inc)
    assert not _p, _p
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Resumen
#
# Veredictos deterministas (no tiempos) de la sesión:

# %%
# NBVAL_CHECK_OUTPUT
for row in mttr.itertuples():
    print(f"{row.simulacro}: {'recuperado' if row.ok else 'NO recuperado'}, filas perdidas {row.filas_perdidas}")
print("tipos en el catálogo por categoría:", {k: int(v) for k, v in catalog_table.groupby("categoria").size().items()})

# %%
summary = day3.summary(results)
evidence.write_summary(3, summary)
display(summary)

# %% [markdown]
# ## 9. Preguntas de verificación

# %%
display(Markdown(day3.answers(results)))

# %% [markdown]
# ## 10. Resumen del día
#
# Qué ha demostrado **tu** ejecución: cada comprobación visible que ha pasado en este kernel
# (las ocultas solo las ejecuta el corrector) y, cuando el instructor ya ha calificado el día,
# tu nota por ejercicio.

# %%
from opsbook.course import recap

recap.mostrar(dia=3, alumno=alumno)
