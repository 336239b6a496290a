# ---
# jupyter:
#   kernelspec:
#     display_name: Python (opsbook)
#     language: python
#     name: opsbook
# ---

# %% [markdown]
# # Día 1 · Probar DAGs como un equipo profesional
#
# Un DAG roto no avisa: el dag-processor no puede importarlo, el DAG desaparece de la interfaz
# y el informe de ventas de mañana simplemente no se genera. Hoy montamos la puerta que lo
# impide **antes** de desplegar y comprobamos que la pila real también lo detecta si algo se
# cuela.
#
# **Objetivos**
#
# 1. Ejecutar desde aquí la misma batería de pruebas de DAGs que ejecuta CI (`pytest
#    --junitxml`), sin pila, sin red y con un `AIRFLOW_HOME` vacío, y medir cuánto tarda.
# 2. Convertir el resultado JUnit en una tabla y un gráfico por fichero de DAG (pruebas y
#    coste de parseo).
# 3. Entender la política del equipo (owner, tags, reintentos, ciclos, `catchup`, `start_date`,
#    nada de Variables al parsear) y por qué cada regla existe.
# 4. Ver la opinión de la propia pila: los errores de importación de la API REST.
# 5. Simulacro: tres DAGs rotos a propósito (sintaxis, import inexistente, ciclo). La suite
#    los señala por nombre de fichero y el dag-processor vivo informa de ellos; después la pila
#    vuelve a quedar limpia.
# 6. Guardar la evidencia.
# 7. **Ejercicios calificados** (escribes tú el código, contra la pila real): una revisión de
#    DAGs que debe cazar DAGs rotos que no has visto, una regla de validación para un defecto
#    del fichero de ventas y una ejecución de `pipeline_ventas` cuyas filas demuestras en el
#    almacén y en Prometheus. Después, las preguntas de verificación.
#
# **Cómo se califica.** Escribe solo en las celdas marcadas `# YOUR CODE HERE` (borra el
# `raise NotImplementedError()`). Las celdas de comprobación son de solo lectura: las que ves
# son las públicas; el corrector añade comprobaciones ocultas que consultan la pila (Airflow,
# almacén, Prometheus) en lugar de fiarse de lo que imprima el cuaderno. El corrector vuelve a
# ejecutar tu cuaderno desde cero con tu identificador (`alumno`): tu fecha y tus ejecuciones
# son solo tuyas.

# %% [markdown]
# Antes de empezar: comprobamos en un segundo que está todo lo que necesita el día (si falta algo, el
# mensaje dice qué comando lo arregla).

# %%
from opsbook.course.preflight import preparar

preparar(dia=1)

# %% tags=["parameters"]
suite = "tests/dags/test_dag_sintaxis.py"  # o "tests/dags" (añade estructura y dag.test())
timeout_s = 1200              # plazo de cada ejecución de pytest (30..3600 s)
simulacro_vivo = True         # copiar los DAGs rotos a la pila real (necesita la pila arrancada)
plazo_simulacro_s = 240       # plazo para que la API informe / limpie cada fase
alumno = "referencia"         # tu identificador (el corrector pone el de tu carpeta de entrega)

# %%
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import display
from opsbook import evidence
from opsbook.airflow import dag_drill, dag_policy, dagtests
from opsbook.airflow.env import airflow_env
from opsbook.course import day1

params = dagtests.check_params(suite, timeout_s)
alumno = day1.check_student(alumno)
if not 30 <= plazo_simulacro_s <= 1800:
    raise ValueError(f"plazo_simulacro_s={plazo_simulacro_s!r}: usa entre 30 y 1800 segundos")
work = Path(tempfile.mkdtemp(prefix="dia1_"))
params

# %% [markdown]
# ## 1. La política del equipo
#
# Cada regla responde a un incidente típico:
#
# - **owner** y **tags**: cuando algo falla a las 3:00, alguien tiene que saber de quién es y
#   poder filtrarlo.
# - **reintentos ≥ 2**: la mayoría de fallos de infraestructura (red, base de datos ocupada) son
#   transitorios; un reintento los absorbe sin despertar a nadie.
# - **sin ciclos**: un DAG es un grafo *acíclico*; un ciclo impide planificarlo.
# - **`catchup` explícito** y **`start_date` fijo**: un `start_date=datetime.now()` cambia en
#   cada parseo y un `catchup` implícito puede lanzar cientos de ejecuciones históricas al
#   desplegar.
# - **nada de `Variable.get` / conexiones al parsear**: el nivel superior del fichero se ejecuta
#   en cada parseo (cada pocos segundos), no solo cuando corre el DAG.
# - **presupuesto de parseo**: medimos la CPU del código de nivel superior de cada fichero.

# %%
rules = pd.DataFrame([{"regla": rule, "qué exige": desc}
                      for rule, (desc, _) in dag_policy.RULES.items()])
rules

# %% [markdown]
# ## 2. La batería de pruebas, ejecutada como en CI
#
# `tests/dags/test_dag_sintaxis.py` comprueba integridad y política **por fichero** (cada
# fichero se parsea en un proceso hijo recién bifurcado, como hace el dag-processor). Su
# compañera `tests/dags/test_pipeline_ventas.py` comprueba la estructura de `pipeline_ventas` y
# lo ejecuta con `dag.test()` (datos limpios y un fallo provocado); `make test` ejecuta ambas, y
# aquí basta con `suite="tests/dags"` para incluirla (tarda varios minutos más). Lanzamos pytest
# como proceso aparte con `--junitxml`, igual que CI.

# %%
run = dagtests.run_dag_tests(work / "junit_dags.xml", params["suite"],
                             timeout_s=params["timeout_s"])
results = dagtests.junit_frame(run.junit)
print(f"código de salida: {run.returncode} · duración: {run.seconds:.1f} s · pruebas: {len(results)}")
print(run.output_tail.splitlines()[-1])

# %%
assert run.returncode == 0, run.output_tail
assert not results["outcome"].isin(["failed", "error"]).any(), results[results.outcome.isin(["failed", "error"])]
project_files = dagtests.project_dag_files()
assert project_files <= set(results["dag_file"]), project_files - set(results["dag_file"])

# %% [markdown]
# ### Resultado por fichero de DAG
#
# `xfailed` son excepciones a la política declaradas en la suite con su motivo (estrictas: si
# dejan de hacer falta, la suite falla hasta que se retiren).

# %%
per_file = dagtests.by_file(results[results["dag_file"] != ""])
per_file

# %%
fig = dagtests.plot_results(results, "Batería de pruebas de DAGs (ejecución de hoy)")

# %%
parse = (results[results["check"] == "test_parse_time_within_budget"]
         .assign(cpu_s=lambda d: pd.to_numeric(d["parse_cpu_seconds"]),
                 reloj_s=lambda d: pd.to_numeric(d["parse_seconds"]))
         [["dag_file", "cpu_s", "reloj_s"]].sort_values("cpu_s", ascending=False)
         .reset_index(drop=True))
interval_s = float(airflow_env()["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"])
parse["% de un núcleo"] = (100 * parse["cpu_s"] / interval_s).round(1)
parse

# %%
assert (parse["cpu_s"] <= dag_policy.PARSE_BUDGET_CPU_S).all(), parse
assert len(parse) == len(project_files), "una medida de parseo por fichero del proyecto"

# %% [markdown]
# ## 3. La opinión de la pila: errores de importación
#
# El dag-processor de la pila parsea `dags/` (paquete `dags`) y una segunda carpeta de
# simulacros (paquete `drill`, bajo `var/`). La API REST `importErrors` es lo que vería un
# operador en la interfaz.

# %%
stack_errors = dagtests.import_errors_frame() if simulacro_vivo else pd.DataFrame()
print("errores de importación en la pila ahora:", len(stack_errors))
stack_errors

# %%
if simulacro_vivo:
    assert stack_errors.empty or (stack_errors["bundle"] != "dags").all(), stack_errors

# %% [markdown]
# ## 4. Simulacro: tres DAGs rotos a propósito
#
# Las muestras se guardan como `.py.txt` en `opsbook/airflow/broken_dags/` para que ningún
# `DagBag` las cargue por accidente. Primero, la puerta de CI: copiamos los DAGs del proyecto
# más las muestras a una carpeta temporal y apuntamos la suite a ella.

# %%
samples = list(dag_drill.DRILL_SAMPLES) + [dag_drill.POLICY_SAMPLE]
for name in samples:
    print(f"--- {name}.py " + "-" * 40)
    print(dag_drill.sample_source(name).split('"""', 2)[-1].strip()[:400])

# %%
staged = dag_drill.stage_folder(work / "dags_con_rotos", samples)
drill_run = dagtests.run_dag_tests(work / "junit_simulacro.xml", "tests/dags/test_dag_sintaxis.py",
                                   folder=staged, timeout_s=params["timeout_s"])
drill_results = dagtests.junit_frame(drill_run.junit)
caught = dagtests.failed_files(drill_results)
failures = drill_results[drill_results["outcome"] == "failed"][["dag_file", "check", "rule", "message"]]
print(f"código de salida: {drill_run.returncode} (1 = la puerta bloquea el despliegue)")
failures

# %%
assert drill_run.returncode == 1, drill_run.output_tail
suite_caught = [s for s in dag_drill.DRILL_SAMPLES if f"{s}.py" in caught]
assert suite_caught == list(dag_drill.DRILL_SAMPLES), caught
assert f"{dag_drill.POLICY_SAMPLE}.py" in caught, "la muestra de política debe fallar por política"
assert not (caught & project_files), f"los DAGs del proyecto siguen verdes: {caught & project_files}"

# %% [markdown]
# Ahora la pila real. Copiamos las tres muestras que no importan a la carpeta del paquete
# `drill` (como `.py`), esperamos a que la API informe de cada una por nombre de fichero, las
# retiramos y esperamos a que la pila vuelva a 0 errores. Todo con plazos y dentro de un
# `try/finally`: ningún fichero roto se queda atrás aunque algo falle. El paquete se relee cada
# pocos segundos (`refresh_interval`).

# %%
if simulacro_vivo:
    live = dag_drill.run_live_drill(detect_timeout_s=plazo_simulacro_s,
                                    clear_timeout_s=plazo_simulacro_s)
    display(pd.DataFrame({"detectado_en_s": live.detected, "error": live.messages}))
    print(f"máximo de errores simultáneos: {live.peak_errors} · limpio {live.cleared_after_s} s "
          f"después de retirar · errores al final: {live.final_errors} · restos: {live.leftovers}")
else:
    live = None
    print("simulacro en vivo desactivado (simulacro_vivo=False)")

# %%
if simulacro_vivo:
    assert all(v is not None for v in live.detected.values()), live.detected
    assert live.peak_errors >= len(dag_drill.DRILL_SAMPLES), live.peak_errors
    assert live.final_errors == 0 and live.cleared_after_s is not None, live
    assert live.leftovers == [], live.leftovers

# %%
# NBVAL_CHECK_OUTPUT
print("batería de DAGs en verde:", run.returncode == 0)
print("muestras rotas señaladas por la suite:", f"{len(suite_caught)} de {len(dag_drill.DRILL_SAMPLES)}")
print("muestra de política bloqueada:", f"{dag_drill.POLICY_SAMPLE}.py" in caught)
if simulacro_vivo:
    print("informadas por la pila (API REST):",
          f"{sum(v is not None for v in live.detected.values())} de {len(dag_drill.DRILL_SAMPLES)}")
    print("errores de importación tras limpiar:", live.final_errors)

# %% [markdown]
# ## 5. Evidencia

# %%
evidence.save_file(1, run.junit, "JUnit XML de la batería de DAGs", name="junit_dags.xml")
evidence.save_file(1, drill_run.junit, "JUnit XML de la suite con las muestras rotas",
                   name="junit_simulacro.xml")
evidence.save_frame(1, "pruebas_dags", results, "Una fila por prueba (JUnit → pandas)")
evidence.save_frame(1, "pruebas_por_fichero", per_file.reset_index(), "Pruebas por fichero de DAG")
evidence.save_frame(1, "parseo_por_fichero", parse, "CPU de parseo por fichero de DAG")
evidence.save_figure(1, "pruebas_dags", fig, "Pruebas por fichero y coste de parseo")
if simulacro_vivo:
    evidence.save_json(1, "simulacro_dags_rotos", live.to_dict(), "Simulacro en la pila real")

counts = results["outcome"].value_counts()
facts = {
    "tests_passed": int(counts.get("passed", 0)),
    "tests_failed": int(counts.get("failed", 0) + counts.get("error", 0)),
    "tests_xfailed": int(counts.get("xfailed", 0)),
    "tests_skipped": int(counts.get("skipped", 0)),
    "suite_seconds": run.seconds,
    "dag_files": len(project_files),
    "parse_cpu_seconds": dict(zip(parse["dag_file"], parse["cpu_s"], strict=True)),
    "parse_wall_seconds": dict(zip(parse["dag_file"], parse["reloj_s"], strict=True)),
    "parse_cpu_max_s": float(parse["cpu_s"].max()),
    "parse_cpu_file": parse.loc[0, "dag_file"],
    "parse_budget_s": dag_policy.PARSE_BUDGET_CPU_S,
    "min_file_process_interval_s": interval_s,
    "drill_samples": len(dag_drill.DRILL_SAMPLES),
    "drill_suite_caught": len(suite_caught),
    "drill_suite_seconds": drill_run.seconds,
    "drill_live_detected": sum(v is not None for v in live.detected.values()) if live else None,
    "drill_detect_max_s": max(live.detected.values()) if live else None,
    "drill_cleared_after_s": live.cleared_after_s if live else None,
    "drill_final_errors": live.final_errors if live else None,
}
evidence.write_summary(1, facts)
sorted(p["file"] for p in evidence.manifest(1))

# %%
assert evidence.read_summary(1)["tests_failed"] == 0
assert {"junit_dags.xml", "pruebas_dags.csv", "pruebas_dags.png"} <= {p["file"] for p in evidence.manifest(1)}


# %% [markdown]
# ## 6. Ejercicio 1 · Una revisión de DAGs que caza lo que no has visto
#
# El inspector de la suite (`dagtests.inspect_dags`) parsea cada fichero en un proceso aparte y
# devuelve un **informe** por fichero: `import_errors`, `dags` (tareas, owner, reintentos,
# dependencias…), `lookups` (Variables/Connections leídas al parsear), `explicit_catchup` y el
# coste de parseo. Escribe `problemas_dag(informe)`: la lista de problemas de un fichero (vacía
# si está sano), con los errores de importación y **todas** las reglas de la política
# (`dag_policy.RULES`, `dag_policy.violations`, `dag_policy.over_budget`). El corrector la
# prueba con DAGs rotos que no están en este cuaderno.

# %%
informes = dagtests.inspect_dags(staged, work / "inspeccion")
sorted(informes)

# %% nbgrader={"grade": false, "grade_id": "ej1_solucion", "locked": false, "schema_version": 3, "solution": true}
def problemas_dag(informe: dict) -> list[str]:
    """Problemas de un fichero de DAG según su informe (lista vacía si está sano)."""
    ### BEGIN SOLUTION
    problemas = [f"{informe['file']}: {e}" for e in informe["import_errors"].values()]
    if not problemas:
        for regla in dag_policy.RULES:
            problemas += dag_policy.violations(informe, regla)
        excedido = dag_policy.over_budget(informe)
        if excedido:
            problemas.append(excedido)
    ### END SOLUTION
    return problemas


# %% nbgrader={"grade": true, "grade_id": "ej1_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
for muestra in samples:
    assert problemas_dag(informes[f"{muestra}.py"]), f"{muestra}.py no se señala"
assert problemas_dag(informes["pipeline_ventas.py"]) == [], problemas_dag(informes["pipeline_ventas.py"])
print("muestras señaladas:", len(samples), "· pipeline_ventas.py sano")

# %% nbgrader={"grade": true, "grade_id": "ej1_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
import shutil as _shutil

_cabecera = "from datetime import datetime\nfrom airflow.sdk import Variable, dag, task\n"
_ocultos = {
    "inicio_movil": ('@dag(dag_id="inicio_movil", schedule="@daily", start_date=datetime.now(), '
                     'catchup=False, tags=["curso"], default_args={"owner": "equipo", "retries": 2})'),
    "sin_reintentos": ('@dag(dag_id="sin_reintentos", schedule=None, start_date=datetime(2026, 1, 1), '
                       'catchup=False, tags=["curso"], default_args={"owner": "equipo", "retries": 0})'),
    "sin_dueno": ('@dag(dag_id="sin_dueno", schedule=None, start_date=datetime(2026, 1, 1), '
                  'catchup=False, tags=["curso"], default_args={"retries": 3})'),
    "variable_al_parsear": ('LIMITE = Variable.get("limite", default="5")\n'
                            '@dag(dag_id="variable_al_parsear", schedule=None, '
                            'start_date=datetime(2026, 1, 1), catchup=False, tags=["curso"], '
                            'default_args={"owner": "equipo", "retries": 2})'),
}
_carpeta = work / "dags_ocultos"
_carpeta.mkdir(exist_ok=True)
for _nombre, _decorador in _ocultos.items():
    (_carpeta / f"{_nombre}.py").write_text(
        f"{_cabecera}\n{_decorador}\ndef {_nombre}():\n    @task\n    def t():\n        return 1\n\n"
        f"    t()\n\n\n{_nombre}()\n")
_shutil.copy2(dagtests.dag_folder() / "pipeline_ventas.py", _carpeta)
_informes = dagtests.inspect_dags(_carpeta, work / "inspeccion_oculta")
for _nombre in _ocultos:
    assert problemas_dag(_informes[f"{_nombre}.py"]), f"DAG oculto {_nombre}.py no señalado"
assert problemas_dag(_informes["pipeline_ventas.py"]) == [], "falso positivo en pipeline_ventas.py"
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Ejercicio 2 · Una regla de validación para un defecto del fichero de ventas
#
# El generador inyecta defectos de varias clases en el fichero de ventas. Escribe
# `regla_moneda(ventas)`: una serie booleana, `True` en las filas cuya moneda **está presente**
# pero no es uno de los códigos aceptados (`datagen.CURRENCIES`, en mayúsculas y exactos). Una
# moneda vacía es otra clase de defecto (campo obligatorio vacío): no la marques.

# %%
from opsbook.pipeline import datagen

muestra_ej2 = datagen.generate("2026-03-15", n_rows=2000, bad_fraction=0.2, seed=7,
                               path=work / "ventas_ej2.csv")
ventas_ej2 = pd.read_csv(muestra_ej2.path, dtype=str, keep_default_na=False)
print("defectos inyectados por clase:", muestra_ej2.expected)
ventas_ej2["currency"].value_counts().head(10)

# %% nbgrader={"grade": false, "grade_id": "ej2_solucion", "locked": false, "schema_version": 3, "solution": true}
def regla_moneda(ventas: pd.DataFrame) -> pd.Series:
    """True en las filas con una moneda presente pero desconocida."""
    ### BEGIN SOLUTION
    moneda = ventas["currency"].fillna("").astype(str)
    return (moneda != "") & ~moneda.isin(datagen.CURRENCIES)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ej2_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
marcadas_ej2 = regla_moneda(ventas_ej2)
assert marcadas_ej2.dtype == bool and len(marcadas_ej2) == len(ventas_ej2)
assert int(marcadas_ej2.sum()) == muestra_ej2.expected["unknown_currency"], int(marcadas_ej2.sum())
assert not marcadas_ej2[ventas_ej2["currency"].isin(datagen.CURRENCIES)].any()
print("filas marcadas:", int(marcadas_ej2.sum()))

# %% nbgrader={"grade": true, "grade_id": "ej2_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
from opsbook.pipeline import validation as _validation

_casos = pd.DataFrame({"currency": ["EUR", "usd", "BTC", "EURO", "MXN", "", " EUR", "COP", None]})
_esperado = [False, True, True, True, False, False, True, False, False]
assert regla_moneda(_casos).tolist() == _esperado, regla_moneda(_casos).tolist()
_otro = datagen.generate(day1.student_date(alumno), n_rows=3000, bad_fraction=0.3,
                         seed=day1.student_seed(alumno), path=work / "ventas_ej2_oculto.csv")
_crudo = pd.read_csv(_otro.path, dtype=str)
_rechazos = _validation.validate_chunk(_crudo)
_verdad = set(_rechazos.index[_rechazos["reason"] == "unknown_currency"])
_suyas = set(_crudo.index[regla_moneda(_crudo).to_numpy()])
assert _suyas == _verdad, (len(_suyas), len(_verdad))
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Ejercicio 3 · Tu ejecución de `pipeline_ventas`, demostrada en el almacén y en Prometheus
#
# Tu fecha, tu identificador de ejecución y tus parámetros salen de tu `alumno` (nadie más los
# usa). Escribe el código que:
#
# 1. espera a que la pila no tenga ejecuciones activas del DAG (`airflow_api.settle`), para que
#    otra ejecución no se mezcle con tu medida;
# 2. espera a que Prometheus haya leído el puente StatsD después de eso (`prom.wait_scraped()`:
#    Prometheus lee cada segundo, y sin esa espera las filas de una ejecución recién terminada
#    pueden aparecer después y sumarse a tu incremento) y lee el contador de filas cargadas
#    (`day1.LOADED_SERIES`) **antes**;
# 3. lanza `pipeline_ventas` con `conf`, `run_id=run_id` y `logical_date=day1.logical_datetime(fecha)`
#    (`airflow_api.trigger_dag`) y espera a que termine (`airflow_api.wait_for_run`) → `estado`;
# 4. cuenta en el almacén las filas de tu fecha (`open_warehouse().count(ds=fecha)`) →
#    `filas_cargadas`;
# 5. espera a que Prometheus refleje la carga (`prom.wait_for`) y calcula `incremento` (después −
#    antes).

# %%
from opsbook.airflow import client as airflow_api
from opsbook.observability import prom
from opsbook.pipeline.warehouse import open_warehouse

fecha = day1.student_date(alumno)
run_id = day1.student_run_id(alumno)
conf = {"n_rows": 1500, "bad_fraction": 0.1, "seed": day1.student_seed(alumno)}
print(f"alumno {alumno} · fecha {fecha} · run_id {run_id} · conf {conf}")

# %% nbgrader={"grade": false, "grade_id": "ej3_solucion", "locked": false, "schema_version": 3, "solution": true}
### BEGIN SOLUTION
airflow_api.wait_for_dag(day1.DAG_ID, timeout_s=300)
airflow_api.unpause(day1.DAG_ID)
airflow_api.settle(day1.DAG_ID)
prom.wait_scraped()
antes = prom.value(day1.LOADED_SERIES, default=0.0)
airflow_api.trigger_dag(day1.DAG_ID, conf, run_id=run_id, logical_date=day1.logical_datetime(fecha))
estado = airflow_api.wait_for_run(day1.DAG_ID, run_id, timeout_s=600)
filas_cargadas = open_warehouse().count(ds=fecha)
prom.wait_for(day1.LOADED_SERIES,
              lambda f: not f.empty and f["value"].sum() >= antes + filas_cargadas, timeout_s=120)
incremento = prom.value(day1.LOADED_SERIES) - antes
### END SOLUTION
print(f"estado {estado} · filas en el almacén {filas_cargadas} · incremento en Prometheus {incremento:g}")

# %% nbgrader={"grade": true, "grade_id": "ej3_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
assert estado == "success", estado
assert filas_cargadas > 0, filas_cargadas
assert incremento == filas_cargadas, (incremento, filas_cargadas)

# %% nbgrader={"grade": true, "grade_id": "ej3_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
assert airflow_api.dag_run_state(day1.DAG_ID, run_id) == "success", "la ejecución del alumno no terminó bien"
_run = next(r for r in airflow_api.dag_runs(day1.DAG_ID, limit=100) if r["dag_run_id"] == run_id)
assert str(_run["logical_date"]).startswith(fecha), _run["logical_date"]
assert open_warehouse().count(ds=fecha) == filas_cargadas, "el almacén no tiene esas filas"
assert prom.value(day1.LOADED_SERIES, default=0.0) >= filas_cargadas, "Prometheus no vio la carga"
### END HIDDEN TESTS

# %% [markdown]
# ## 9. Preguntas de verificación
#
# Responde con las cifras de **tu** ejecución. Las tres primeras se califican solas; la última
# es abierta y la revisa el instructor.
#
# **P1.** ¿Cuántas de las muestras que no importan (`dag_drill.DRILL_SAMPLES`) señaló la suite
# por nombre de fichero? Asigna el número a `respuesta_p1`.
#
# **P2.** ¿Quién detecta la muestra `politica_incumplida`? a) el dag-processor de la pila;
# b) solo la suite de CI; c) los dos. Asigna la letra a `respuesta_p2`.
#
# **P3.** ¿Cuántas filas de tu fecha hay en el almacén tras tu ejecución? Asigna el número a
# `respuesta_p3`.

# %% nbgrader={"grade": false, "grade_id": "p_respuestas", "locked": false, "schema_version": 3, "solution": true}
### BEGIN SOLUTION
respuesta_p1 = len(suite_caught)
respuesta_p2 = "b"
respuesta_p3 = open_warehouse().count(ds=fecha)
### END SOLUTION
print(respuesta_p1, respuesta_p2, respuesta_p3)

# %% nbgrader={"grade": true, "grade_id": "p1", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert isinstance(respuesta_p1, int)
### BEGIN HIDDEN TESTS
assert respuesta_p1 == len(dag_drill.DRILL_SAMPLES)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "p2", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert respuesta_p2 in ("a", "b", "c")
### BEGIN HIDDEN TESTS
assert respuesta_p2 == "b"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "p3", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert isinstance(respuesta_p3, int)
### BEGIN HIDDEN TESTS
assert respuesta_p3 == open_warehouse().count(ds=fecha) > 0
### END HIDDEN TESTS

# %% [markdown]
# **P4 (abierta).** ¿En qué se diferencia el CI/CD de una aplicación web del de un pipeline de
# datos? Apóyate en una cifra de tu ejecución (pruebas, parseo o simulacro).

# %% [markdown] nbgrader={"grade": true, "grade_id": "p4_abierta", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# En una web el código desplegado es el producto; en un pipeline la otra mitad son los datos y
# el planificador. Un DAG que no importa desaparece en silencio (el dag-processor lo reparsea
# cada pocos segundos), así que CI añade una puerta por fichero de DAG (integridad y política:
# la muestra `politica_incumplida` importa bien y solo la suite la bloquea) y el despliegue se
# comprueba en la pila (la API REST informó de las 3 muestras rotas en el simulacro).
# ### END SOLUTION

# %% [markdown]
# **P5 (abierta).** ¿Cómo se consiguen pruebas de DAG rápidas y fiables? Cita el tiempo de la
# batería y el coste de parseo que has medido.

# %% [markdown] nbgrader={"grade": true, "grade_id": "p5_abierta", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# Rápidas: sin pila, sin red y con un `AIRFLOW_HOME` vacío; cada fichero en un proceso hijo
# bifurcado, como el dag-processor, midiendo su CPU de parseo contra un presupuesto. Fiables:
# una prueba por fichero y regla (el fallo nombra el fichero), excepciones declaradas como
# `xfail` estrictos, muestras rotas que la suite debe cazar y `dag.test()` con datos reales.
# ### END SOLUTION

# %% [markdown]
# ## 10. Resumen del día
#
# Qué ha demostrado **tu** ejecución: cada comprobación visible que ha pasado en este kernel
# (las ocultas solo las ejecuta el corrector) y, cuando el instructor ya ha calificado el día,
# tu nota por ejercicio.

# %%
from opsbook.course import recap

recap.mostrar(dia=1, alumno=alumno)
