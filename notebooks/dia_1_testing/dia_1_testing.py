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
# 6. Guardar la evidencia y responder las preguntas de verificación con las cifras medidas.

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

# %%
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display
from opsbook import evidence
from opsbook.airflow import dag_drill, dag_policy, dagtests
from opsbook.airflow.env import airflow_env

params = dagtests.check_params(suite, timeout_s)
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
# ## 6. Preguntas de verificación
#
# Respondidas con las cifras que este cuaderno acaba de medir.

# %%
if simulacro_vivo:
    display(Markdown(dagtests.verification_answers(facts)))
else:
    print("activa simulacro_vivo para responder con las cifras de la pila")
