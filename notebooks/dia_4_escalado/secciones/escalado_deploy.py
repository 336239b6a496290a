# ---
# jupyter:
#   kernelspec:
#     display_name: Python (opsbook)
#     language: python
#     name: opsbook
# ---

# %% [markdown]
# <!-- Secciones del Día 4 (b): escalado con CeleryExecutor y despliegue blue-green.
#      El líder las fusiona en dia_4_escalado.py; los valores de la celda siguiente van a la
#      celda `parameters` del cuaderno. -->
#
# ## Escalado horizontal con CeleryExecutor
#
# **Escalar en vertical** es darle más CPU o memoria a la misma máquina: sencillo, pero con
# techo (el hardware) y a menudo con parada. **Escalar en horizontal** es añadir instancias que
# trabajan en paralelo: más coordinación, pero sin techo teórico y sin parada. En Airflow el
# escalado horizontal lo da el `CeleryExecutor`: el scheduler deja cada tarea en una cola de
# **Redis** y cualquier **worker** libre la recoge; los metadatos viven en **PostgreSQL**, que sí
# admite varios schedulers y workers a la vez (SQLite no).
#
# Cambiamos la pila a modo Celery con 2 workers. La salud de los workers no aparece en
# `/api/v2/monitor/health`: se comprueba con `celery inspect ping`.

# %% tags=["parameters"]
sleep_s = 2.0            # segundos que espera cada tarea del fan-out de E/S
rounds = 1_500_000       # hashes SHA-256 por tarea del fan-out de CPU (~1 s de un núcleo libre)
tasa_rps = 20.0          # peticiones/s contra la puerta de entrada durante el despliegue
kill_sleep_s = 15.0      # duración de las tareas del simulacro de caída de un worker

# %%
import pandas as pd
from IPython.display import Markdown, display

from opsbook import celery_mode, dag_releases, deploy, evidence, scale_charts, scaling, stack, zero_downtime
from opsbook.settings import settings
from opsbook.versioning import merge_summary

scaling.validate_params(sleep_s, rounds, tasa_rps, kill_sleep_s)
estado = stack.up(executor="celery", workers=2, timeout_s=900, progress=False)
pong = celery_mode.worker_ping()
print("modo:", estado["mode"], "· workers:", pong)

# %%
assert estado["healthy"] and estado["mode"]["executor"] == "celery"
assert len(pong) == 2 and all(pong.values())

# %% [markdown]
# ### Experimento: el mismo fan-out con 1×2, 2×2 y 1×8 ranuras
#
# Dos DAGs con 16 tareas independientes: `fanout_io` (cada tarea **espera**, como quien llama a
# una API) y `fanout_cpu` (cada tarea **calcula** una cantidad fija de hashes). Ejecutamos cada
# uno con 1 worker de 2 ranuras (la referencia), 2 workers de 2 ranuras y 1 worker de 8 ranuras.
# El tiempo de cada ejecución sale de la API REST (de *encolada* a *fin*).

# %%
filas = scaling.scale_out_experiment(
    confs={"fanout_io": {"sleep_s": sleep_s}, "fanout_cpu": {"rounds": rounds}}
)
escalado = pd.DataFrame(filas)[["dag_id", "workers", "concurrency", "slots", "state", "wall_s", "speedup"]]
evidence.save_frame(4, "escalado_fanout", escalado, "Tiempo y aceleración del fan-out por configuración")
fig = scale_charts.speedup_chart(filas)
evidence.save_figure(4, "escalado_fanout", fig, "Aceleración E/S frente a CPU con 2 núcleos")
escalado

# %%
io = escalado.query("dag_id == 'fanout_io'").set_index("slots")["speedup"]
cpu = escalado.query("dag_id == 'fanout_cpu'").set_index("slots")["speedup"]
assert set(escalado["state"]) == {"success"}
assert io[8] > 1.5, "con 4× ranuras, el fan-out de E/S debe acelerar claramente"
assert cpu[8] < 2.5, "el fan-out de CPU no puede superar ~2× en una máquina de 2 núcleos"
assert cpu[8] < io[8], "la CPU escala peor que la E/S: el techo son los núcleos"

# %% [markdown]
# ### Simulacro: un worker muere a mitad de ejecución (`kill -9`)
#
# Con 2 workers lanzamos 4 tareas largas y matamos con `kill -9` al worker 1 mientras ejecuta
# las suyas; después matamos por pid sus procesos hijos huérfanos (en una máquina que se apaga
# tampoco sobreviven). El scheduler deja de recibir el latido (*heartbeat*) de esas tareas: con
# la configuración de clase (`task_instance_heartbeat_timeout=20`, comprobación cada 5 s) las
# marca como fallidas y, como tienen reintentos, las repite en el worker que queda. Con los
# valores por defecto (300 s) tardaría más de 5 minutos.

# %%
caida = scaling.worker_kill_experiment(victim=1, sleep_s=kill_sleep_s, active=4)
evidence.save_json(4, "caida_worker", caida, "Simulacro kill -9 de un worker Celery")
pd.DataFrame(caida["per_task"]).T

# %%
assert caida["state"] == "success" and caida["killed_tasks"]
assert caida["cleanup"]["survivors"] == [], "quedan procesos huérfanos vivos"
assert all(v["try1_state"] == "failed" and v["final_state"] == "success" for v in caida["per_task"].values())
assert caida["double_success"] == [] and caida["max_tries"] == 2, "ninguna tarea se ejecuta dos veces con éxito"
assert caida["retry_s"] < 120
print(f"detección {caida['detect_s']} s · reintento {caida['retry_s']} s tras el kill -9")

# %% [markdown]
# ## Despliegue blue-green sin tiempo de inactividad
#
# Los usuarios y los workers entran por la **puerta de entrada** (nginx en
# `127.0.0.1:{front_door}`), que reenvía al api-server activo (**blue**). Desplegar es:
#
# 1. comprobar la compatibilidad de los datos (el comprobador de esquemas de la sección anterior);
# 2. arrancar la versión nueva (**green**) al lado, en otro puerto (en modo Celery, también un
#    segundo scheduler: PostgreSQL admite varios);
# 3. health checks de green;
# 4. pruebas de humo contra green (la API lista los DAGs y un DAG de humo termina bien) y
#    **calentarla**: la primera petición a su API de ejecución tarda ~7 s y bloquea el servidor;
# 5. cambiar el tráfico: reescribir el upstream de nginx, `nginx -t` y `nginx -s reload` (las
#    peticiones en vuelo terminan en los procesos viejos de nginx);
# 6. drenar y retirar blue.
#
# Un generador de carga envía al menos 20 peticiones/s (salud + una llamada autenticada) durante
# todo el despliegue. Como referencia medimos en la misma sesión un **reinicio ingenuo** del
# único api-server con la misma carga.

# %%
ingenuo = zero_downtime.naive_restart_under_load(rate=tasa_rps)
azul_verde = zero_downtime.deploy_under_load("v2", rate=tasa_rps)
comparacion = zero_downtime.compare(azul_verde, ingenuo)
evidence.save_json(4, "despliegue_carga", comparacion, "Peticiones fallidas: blue-green frente a reinicio")
fig = scale_charts.load_timeline_chart({"blue-green": azul_verde["report"], "reinicio ingenuo": ingenuo["report"]})
evidence.save_figure(4, "despliegue_carga", fig, "Línea de tiempo de la carga en ambos despliegues")
pd.DataFrame({"blue-green": comparacion["blue_green"], "reinicio ingenuo": comparacion["naive_restart"]})

# %%
assert azul_verde["ok"], azul_verde["reason"]
assert azul_verde["load"]["failed"] == 0, "el despliegue blue-green no debe perder ni una petición"
assert ingenuo["load"]["failed"] > 0, "el reinicio ingenuo sí deja a los clientes sin servicio"
assert azul_verde["load"]["achieved_rate"] >= 20

# %% [markdown]
# ### Rollback: una versión green rota nunca recibe tráfico
#
# Desplegamos una versión con la configuración de usuarios rota (su fichero de contraseñas no
# existe). Arranca y está sana, pero **falla la prueba de humo** (no puede autenticar): el
# despliegue se detiene en el paso 4, la para, y la versión que servía sigue sirviendo.

# %%
rota = deploy.deploy("v3-rota", green_env={"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": "/no/existe.json"})
print("paso fallido:", rota["failed_step"], "·", rota["reason"][:160])

# %%
assert not rota["ok"] and rota["failed_step"] == 4
assert deploy.active_slot() == rota["from"], "la puerta de entrada no se movió"

# %% [markdown]
# ### El código de los DAGs también se despliega: bundles versionados
#
# Cambiar los servidores sin caída no basta si el **código del DAG** cambia debajo de una
# ejecución en curso. Airflow 3 agrupa los DAGs en *bundles*. Publicamos las versiones del DAG
# `version_demo` como commits de un repositorio git local (`var/dag_releases`, leído con
# `GitDagBundle`) y, para comparar, el mismo DAG en una carpeta normal sin versiones
# (`var/dag_plain`). Lanzamos una ejecución **A** con la v1, publicamos la v2 mientras su primera
# tarea (`inicio`) sigue en marcha, y lanzamos otra ejecución **B**. La tarea `fin` devuelve la
# versión del código con la que se ejecutó.

# %%
bundles = pd.DataFrame(dag_releases.versioning_experiment(wait_s=20))
evidence.save_frame(4, "bundles_versionados", bundles, "Versión del código por ejecución: git frente a carpeta")
bundles

# %%
fila = {(r.bundle, r.run): r for r in bundles.itertuples()}
assert set(bundles["state"]) == {"success"}
assert (fila["releases", "A"].inicio, fila["releases", "A"].fin) == ("v1", "v1"), "con git, A termina en v1"
assert fila["releases", "B"].fin == "v2", "con git, las ejecuciones nuevas usan v2"
assert (fila["plain", "A"].inicio, fila["plain", "A"].fin) == ("v1", "v2"), "sin versiones, A mezcla v1 y v2"
assert fila["releases", "A"].bundle_version != fila["releases", "B"].bundle_version

# %% [markdown]
# Al terminar devolvemos el tráfico a blue (otro despliegue sin caída) y la pila a su modo por
# defecto (LocalExecutor + SQLite), como la encontramos.

# %%
vuelta = deploy.ensure_blue()
final = stack.up(executor="local", timeout_s=900, progress=False)
assert vuelta["ok"] and deploy.active_slot() == "blue"
assert final["healthy"] and final["mode"]["executor"] == "local"

# %%
io_8, cpu_8, io_4 = float(io[8]), float(cpu[8]), float(io[4])
merge_summary(4, {
    "escalado": {
        "speedup_io_2x2": io_4, "speedup_io_1x8": io_8,
        "speedup_cpu_2x2": float(cpu[4]), "speedup_cpu_1x8": cpu_8,
        "wall_s": {f"{r['dag_id']}_{r['workers']}x{r['concurrency']}": r["wall_s"] for r in filas},
    },
    "caida_worker": {"detect_s": caida["detect_s"], "retry_s": caida["retry_s"],
                     "heartbeat_timeout_s": caida["heartbeat_timeout_s"],
                     "double_success": len(caida["double_success"])},
    "despliegue": {"rate_rps": comparacion["rate_rps"],
                   "blue_green_failed": comparacion["blue_green"]["failed"],
                   "blue_green_p95_ms": comparacion["blue_green"]["p95_ms"],
                   "naive_restart_failed": comparacion["naive_restart"]["failed"],
                   "naive_restart_outage_s": comparacion["naive_restart"]["longest_outage_s"],
                   "rollback_step": rota["failed_step"]},
    "bundles": {"git_run_a": f'{fila["releases", "A"].inicio}->{fila["releases", "A"].fin}',
                "plain_run_a": f'{fila["plain", "A"].inicio}->{fila["plain", "A"].fin}'},
})

# %%
# NBVAL_CHECK_OUTPUT
print("ejecución en curso fiel a su versión con GitDagBundle:", fila["releases", "A"].fin == "v1")
print("fan-out E/S acelera con más ranuras:", io_8 > 1.5)
print("fan-out CPU limitado por 2 núcleos:", cpu_8 < 2.5)
print("caída de un worker sobrevivida sin ejecuciones dobles:", caida["state"] == "success" and not caida["double_success"])
print("peticiones fallidas en blue-green:", comparacion["blue_green"]["failed"])
print("green rota detenida en el paso:", rota["failed_step"])

# %% [markdown]
# ### Pregunta de verificación: ¿escalar en horizontal o en vertical?

# %%
display(Markdown(f"""
Con el fan-out de **E/S**, pasar de 2 a 4 ranuras repartidas en 2 workers aceleró
**{io_4:.1f}×**, y 8 ranuras **{io_8:.1f}×**: cuando las tareas esperan (APIs, bases de datos,
ficheros remotos), más procesos en paralelo son casi gratis y el escalado horizontal rinde.
Con el fan-out de **CPU**, 8 ranuras solo dieron **{cpu_8:.1f}×**: la máquina tiene 2 núcleos
y ningún número de workers en ella lo supera. Ahí hace falta escalar en **vertical** (más
núcleos) o en horizontal **con más máquinas**, no con más procesos en la misma.

Prefiero **horizontal** cuando la carga crece o varía de forma impredecible, cuando necesito
tolerancia a fallos (un worker murió con `kill -9` y sus tareas se repitieron en el otro en
{caida['retry_s']:.0f} s, sin ejecuciones dobles) y cuando no puedo parar (el despliegue
blue-green perdió **{comparacion['blue_green']['failed']}** peticiones frente a
**{comparacion['naive_restart']['failed']}** del reinicio ingenuo). Prefiero **vertical** cuando
la carga es estable y cabe en una máquina, cuando la tarea está limitada por CPU o memoria de
un único proceso, o cuando la simplicidad operativa pesa más que la disponibilidad.
"""))
