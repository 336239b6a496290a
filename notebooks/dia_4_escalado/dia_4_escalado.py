# ---
# jupyter:
#   kernelspec:
#     display_name: Python (opsbook)
#     language: python
#     name: opsbook
# ---

# %% [markdown]
# # Día 4 · Escalado, versionado y despliegue sin tiempo de inactividad
#
# Un pipeline que funciona hoy tiene que seguir funcionando cuando crece el volumen, cuando
# cambian los datos que recibe y cuando desplegamos una versión nueva. Hoy trabajamos esas tres
# fuentes de cambio sobre el stack real (Airflow 3 + Prometheus) y medimos cada afirmación.
#
# **Objetivos**
#
# 1. **Escalado**: distinguir escalado vertical (más CPU/memoria en una máquina) y horizontal
#    (más instancias en paralelo); escalar Airflow con `CeleryExecutor`, Redis como broker y
#    varios workers, y medir la aceleración frente a un solo worker.
# 2. **Versionado de datos y esquemas**: validar datos legacy contra su versión de esquema
#    (v1, v2, v3), subirlos a la versión actual sin perder información, y decidir con las reglas
#    del Schema Registry (BACKWARD, FORWARD, FULL y sus variantes transitivas) si un cambio de
#    esquema se puede publicar.
# 3. **Despliegue blue-green**: verificar compatibilidad, preparar la versión nueva (green),
#    comprobar su salud, pasar pruebas de humo, cambiar el tráfico y retirar la anterior (blue),
#    contando las peticiones fallidas frente a un reinicio en sitio.
# 4. Responder las preguntas de verificación del día con las cifras medidas.

# %% tags=["parameters"]
n_v1 = 600            # registros legacy escritos con el esquema v1
n_v2 = 300            # registros legacy escritos con el esquema v2
n_v3 = 100            # registros escritos con el esquema actual v3
semilla = 7           # semilla del generador de datos legacy
ruta_carga = "dag"    # "dag": pipeline_ventas en el stack; "directa": load_customers sin Airflow
timeout_dag_s = 600   # plazo para que termine la tarea customers de pipeline_ventas

# %%
import pandas as pd
from IPython.display import Markdown, display

from opsbook import customers, evidence, versioning, versioning_nb
from opsbook.avro_compat import check
from opsbook.schema_registry import DataLossError, registry

versioning_nb.validate_params(n_v1, n_v2, n_v3, semilla, ruta_carga, timeout_dag_s)
reg = registry()
pd.set_option("display.max_colwidth", 120)
print("versiones registradas:", [f"v{v}" for v in reg.versions], "· actual: v" + str(reg.latest))

# %% [markdown]
# ## Versionado de datos y esquemas
#
# Los clientes llegan desde sistemas de distintas épocas. Cada época escribió con su **versión
# de esquema**, y cada versión es un fichero Avro (`.avsc`) en `lib/opsbook/schemas/`:
#
# * **v1** (sistema legado): `id`, `name`, `created_at`.
# * **v2**: añade `email` y `updated_at`, **opcionales con valor por defecto** (`null`).
# * **v3** (actual): añade `phone`, también opcional.
#
# Usamos Avro porque sobre él se definen las reglas de compatibilidad del Confluent Schema
# Registry, y porque `fastavro` resuelve de verdad datos escritos con un esquema y leídos con
# otro: las pruebas unitarias comparan cada veredicto de nuestro comprobador con esa lectura real.
# El atributo `opsbook.derived_from` indica cómo rellenar un campo nuevo a partir de uno antiguo
# (al subir de v1, `updated_at` = `created_at`).

# %%
fields = versioning_nb.fields_table()
fields

# %%
assert list(fields.query("obligatorio")["campo"].unique()) == ["id", "name", "created_at"]
assert not fields.query("version != 'v1' and obligatorio and campo not in ['id', 'name', 'created_at']").shape[0]

# %% [markdown]
# ### 1. Validar los datos legacy contra su versión
#
# Generamos un lote por versión y validamos cada uno contra **su** esquema. Un error de
# validación nunca es un `False` a secas: dice el registro, el campo, el tipo esperado y el
# recibido.

# %%
batches = versioning.legacy_mix({1: n_v1, 2: n_v2, 3: n_v3}, seed=semilla)
walk = versioning.validate_upgrade_revalidate(batches)
before = pd.DataFrame([{"version": f"v{v}", "registros": len(batches[v]),
                        "errores": len(walk["errors_before"][v])} for v in batches])
before

# %%
assert before["errores"].sum() == 0
assert before["registros"].tolist() == [n_v1, n_v2, n_v3]

# %% [markdown]
# Así se ve un lote con problemas (tipo incorrecto, campo obligatorio ausente, campo que el
# esquema no declara): cada problema es una fila legible.

# %%
corrupt = [
    {"id": "17", "name": "Ana Ruiz", "created_at": "2021-03-01T10:00:00Z"},
    {"id": 18, "created_at": "2021-03-02T10:00:00Z"},
    {"id": 19, "name": "Luis Pérez", "created_at": "2021-03-03T10:00:00Z", "telefono": "600"},
]
errors = reg.validate(corrupt, 1)
pd.DataFrame([{"registro": e.record, "campo": e.field, "problema": e.problem,
               "esperado": e.expected, "recibido": e.received} for e in errors])

# %%
assert [(e.record, e.field) for e in errors] == [(0, "id"), (1, "name"), (2, "telefono")]

# %% [markdown]
# ### 2. Subir todo a v3 y validar de nuevo
#
# Cada campo nuevo toma su valor por defecto o el del campo del que deriva. Después del upgrade,
# **todos** los registros validan contra v3 con cero errores.

# %%
upgraded = pd.DataFrame(walk["upgraded"])
print(f"{len(upgraded)} registros en v{walk['target']}, errores tras el upgrade: {len(walk['errors_after'])}")
upgraded.head(3)

# %%
assert len(walk["errors_after"]) == 0
assert len(upgraded) == n_v1 + n_v2 + n_v3
from_v1 = upgraded.iloc[:n_v1]
assert (from_v1["updated_at"] == from_v1["created_at"]).all() and from_v1["phone"].isna().all()

# %% [markdown]
# El camino inverso (downgrade) también existe, pero solo es **sin pérdida** si el dato no
# contiene información que la versión antigua no puede guardar. Si la hay, se rechaza
# explícitamente en lugar de tirar datos en silencio:

# %%
original_v1 = batches[1][0]
roundtrip = reg.downgrade(reg.upgrade(original_v1, 1), 3, 1)
with_phone = next(r for r in walk["upgraded"] if r["phone"])
try:
    reg.downgrade(with_phone, 3, 1)
    refused = None
except DataLossError as exc:
    refused = str(exc)
print("v1 → v3 → v1 idéntico:", roundtrip == original_v1)
print("downgrade con teléfono:", refused)

# %%
assert roundtrip == original_v1
assert refused is not None and "'phone'" in refused

# %% [markdown]
# ### 3. Matriz de compatibilidad v1 / v2 / v3 / propuesta v4
#
# Un equipo propone una **v4** que renombra `name` a `full_name` (sin alias ni valor por defecto)
# y elimina `created_at`. La matriz responde, para cada par, si un consumidor que lee con el
# esquema de la fila puede leer datos escritos con el de la columna (reglas de resolución de
# Avro: un campo del lector que falta en el escritor necesita default; los campos que solo
# tiene el escritor se ignoran; solo se admiten las promociones int→long→float→double).

# %%
matrix = versioning.read_matrix()
matrix.replace({True: "lee", False: "NO lee"})

# %%
fig = versioning.heatmap(matrix, "Compatibilidad de lectura entre versiones de clientes")
evidence.save_figure(4, "versionado_matriz_compatibilidad", fig,
                     "Matriz lector × escritor de los esquemas de clientes v1–v3 y la propuesta v4")
evidence.save_frame(4, "versionado_matriz_compatibilidad", matrix.reset_index(),
                    "Matriz lector × escritor (True = puede leer)")

# %%
assert matrix.loc[["v1", "v2", "v3"], ["v1", "v2", "v3"]].all().all()
assert not matrix.loc["v4", ["v1", "v2", "v3"]].any() and not matrix.loc[["v1", "v2", "v3"], "v4"].any()

# %% [markdown]
# Con la matriz se evalúan los modos del Schema Registry para cada versión nueva frente a las
# anteriores (la más reciente primero; los modos no transitivos solo miran la inmediatamente
# anterior):

# %%
modes = versioning.mode_table()
verdicts = modes.pivot(index="version", columns="modo", values="compatible")
verdicts = verdicts[list(dict.fromkeys(modes["modo"]))]
fig = versioning.heatmap(verdicts, "Veredicto por modo del Schema Registry",
                         ("compatible", "INCOMPATIBLE"), "modo de compatibilidad",
                         "versión nueva (frente a las anteriores)")
evidence.save_figure(4, "versionado_modos", fig, "Veredicto de cada modo de compatibilidad por versión")
evidence.save_frame(4, "versionado_modos", modes, "Veredictos y motivos por versión y modo")
display(modes.query("not compatible")[["version", "modo", "motivos"]].head(4))

# %%
assert verdicts.loc[["v2", "v3"]].all().all()
assert not verdicts.loc["v4", "BACKWARD"] and verdicts.loc["v4", "NONE"]
assert "full_name" in modes.query("version == 'v4' and modo == 'BACKWARD'")["motivos"].iloc[0]

# %% [markdown]
# ¿Cómo se habría hecho bien el renombrado? En Avro, declarando el nombre antiguo como **alias**
# del nuevo campo. Con eso un lector v4 vuelve a poder leer los datos v1–v3 (BACKWARD), pero los
# consumidores antiguos siguen sin poder leer datos v4, porque v4 ya no escribe `name` ni
# `created_at` (FORWARD): con BACKWARD hay que actualizar **primero los consumidores** y después
# los productores.

# %%
fixed = versioning.aliased_proposal()
previous = [reg.get(n).schema for n in reversed(reg.versions)]
fixed_verdicts = {mode: check(mode, fixed, previous).compatible
                  for mode in ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FULL")}
print(fixed_verdicts)
print(check("FORWARD", fixed, previous).describe())

# %%
assert fixed_verdicts["BACKWARD"] and fixed_verdicts["BACKWARD_TRANSITIVE"]
assert not fixed_verdicts["FORWARD"] and not fixed_verdicts["FULL"]

# %% [markdown]
# El mismo veredicto, como lo usaría un job de CI antes de publicar un esquema:
# `opsbook schema check --mode MODO NUEVO ANTERIOR [MÁS_ANTIGUO…]` sale con 0 si es compatible,
# 1 si no (con cada motivo) y 2 si un fichero de esquema no se puede leer.

# %%
ok = versioning_nb.schema_cli("check", "--mode", "FULL_TRANSITIVE",
                              versioning_nb.schema_path("clientes_v3.avsc"),
                              versioning_nb.schema_path("clientes_v2.avsc"),
                              versioning_nb.schema_path("clientes_v1.avsc"))
rejected = versioning_nb.schema_cli("check", "--mode", "BACKWARD",
                                    versioning_nb.schema_path("clientes_v4_propuesta.avsc"),
                                    versioning_nb.schema_path("clientes_v3.avsc"))
print(f"[salida {ok.returncode}]", ok.stdout)
print(f"[salida {rejected.returncode}]", rejected.stdout)
evidence.save_text(4, "versionado_check_v4.txt", rejected.stdout,
                   "Salida de opsbook schema check rechazando la propuesta v4 (BACKWARD)")

# %%
assert ok.returncode == 0 and rejected.returncode == 1
assert "full_name" in rejected.stdout

# %% [markdown]
# ### 4. Datos legacy por el pipeline hasta la tabla v3
#
# `pipeline_ventas` carga también la dimensión de clientes (tarea `customers` →
# `opsbook.customers.load_customers`). En la zona de aterrizaje dejamos, para la fecha que
# procesa la ejecución, un CSV **v1** del sistema legado, un JSON Lines **v2**, un contenedor
# Avro **v3** y dos ficheros malos: uno escrito con la propuesta **v4** (incompatible) y un v2
# con un `id` de tipo texto. Cada fichero se valida contra su versión, se sube a v3 y se carga
# en una sola transacción; los malos van **enteros a cuarentena con su motivo**.

# %%
if ruta_carga == "dag":
    from opsbook import stack
    assert stack.is_healthy(), "el stack no está sano: opsbook stack up, o usa ruta_carga='directa'"
fecha = versioning_nb.today()
landing = customers.landing_folder(fecha)
paths = versioning_nb.write_demo_landing(landing, n_v1, n_v2, n_v3, semilla)
written_at = versioning_nb.now_iso()
print("fecha:", fecha, "· ficheros escritos a las", written_at)
print("\n".join(f"  {p.name} ({p.stat().st_size} bytes)" for p in paths))

# %% [markdown]
# Con `ruta_carga = "dag"` disparamos `pipeline_ventas` en el stack y esperamos a su tarea
# `customers`; con `"directa"` llamamos a `load_customers` sin Airflow. En ambos casos leemos
# después el almacén: la tabla `clientes` (ya en v3) y la de cuarentena.

# %%
if ruta_carga == "dag":
    run = versioning_nb.load_via_dag(timeout_dag_s)  # espera solo a la tarea customers
    print(run)
    assert run["ds"] == fecha and run["customers_state"] == "success", run
else:
    print(customers.load_customers(fecha))
table = customers.loaded_rows(fecha)
quarantined = customers.quarantined_files(fecha)
evidence.save_frame(4, "versionado_cuarentena_clientes", quarantined,
                    "Ficheros de clientes en cuarentena con su motivo")
display(quarantined[["archivo", "motivo"]])
table.groupby(["version_origen", "archivo_origen"]).agg(
    registros=("id", "size"), con_email=("email", "count"), con_phone=("phone", "count"),
    updated_igual_created=("updated_at", lambda s: int((s == table.loc[s.index, "created_at"]).sum())))

# %%
legacy_rows = table.query("version_origen == 1")
assert len(legacy_rows) == n_v1 and (legacy_rows["archivo_origen"] == "clientes_v1_legado.csv").all()
assert (legacy_rows["updated_at"] == legacy_rows["created_at"]).all() and legacy_rows["phone"].isna().all()
assert len(table) == n_v1 + n_v2 + n_v3 and (table["cargado_en"] >= written_at).all()
assert set(quarantined["archivo"]) == {"clientes_v4_propuesta.avro", "clientes_v2_corrupto.jsonl"}
assert (quarantined["registrado_en"] >= written_at).all()
assert quarantined["motivo"].str.contains("incompatible|tipo incorrecto").all()

# %% [markdown]
# La carga es **idempotente por fecha**: repetirla (a mano, o porque Airflow reintenta la tarea)
# deja exactamente la misma tabla y la misma cuarentena.

# %%
load = customers.load_customers(fecha)
print({k: v for k, v in load.items() if k != "quarantine"})
again = customers.loaded_rows(fecha)
assert again.drop(columns="cargado_en").equals(table.drop(columns="cargado_en"))
assert customers.quarantined_files(fecha)["archivo"].tolist() == quarantined["archivo"].tolist()
assert load["records_loaded"] == len(table) and load["files_quarantined"] == len(quarantined)

# %% [markdown]
# Resumen determinista de la sección (el mismo en cada ejecución con los parámetros por defecto):

# %%
# NBVAL_CHECK_OUTPUT
print("registros legacy por versión:", {f"v{v}": len(b) for v, b in batches.items()})
print("errores antes / después del upgrade:", int(before["errores"].sum()), "/", len(walk["errors_after"]))
print("cargados en clientes (v3):", load["records_by_version"])
print("en cuarentena:", sorted(load["quarantine"]))
print(matrix.replace({True: "lee", False: "NO lee"}).to_string())

# %%
compat = {f"{r.version} {r.modo}": bool(r.compatible) for r in modes.itertuples()}
summary = versioning.write_summary_merged(4, {
    "schema_compatibility": compat,
    "versioning": {
        "legacy_records": {f"v{v}": len(b) for v, b in batches.items()},
        "errors_before_upgrade": int(before["errores"].sum()),
        "errors_after_upgrade": len(walk["errors_after"]),
        "upgraded_records": len(upgraded),
        "customers_loaded": load["records_loaded"],
        "customers_loaded_by_version": load["records_by_version"],
        "files_quarantined": load["files_quarantined"],
        "load_route": ruta_carga,
        "v4_backward_compatible": bool(verdicts.loc["v4", "BACKWARD"]),
        "v4_rejection_reasons": int(modes.query("version == 'v4' and modo == 'BACKWARD'")["n_motivos"].iloc[0]),
    },
})
assert summary["versioning"]["errors_after_upgrade"] == 0 and summary["schema_compatibility"]["v4 BACKWARD"] is False

# %% [markdown]
# ### Pregunta de verificación: ¿cómo asegurar la compatibilidad hacia atrás al cambiar un esquema?

# %%
v4_reasons = check("BACKWARD", reg.proposal(), [reg.get(3).schema]).incompatibilities
display(Markdown(f"""
**Respuesta, con lo medido en esta sección.**

1. **Versionar el esquema explícitamente** y hacer que cada dato diga con qué versión se
   escribió: los contenedores Avro llevan su esquema y los CSV/JSON lo declaran en el nombre.
   Así hemos validado {n_v1 + n_v2 + n_v3} registros legacy contra *su* versión con
   {int(before["errores"].sum())} errores.
2. **Solo añadir campos opcionales con valor por defecto**, nunca renombrar ni eliminar campos
   obligatorios: v2 y v3 siguen esa regla y la matriz lo confirma — v3 es compatible en
   **FULL_TRANSITIVE** con v2 y v1 (cualquier versión lee los datos de cualquier otra).
3. **Comprobar la compatibilidad de forma automática antes de publicar**: la propuesta v4
   renombra `name` y elimina `created_at`; `opsbook schema check --mode BACKWARD` la rechaza
   (salida {rejected.returncode}) con {len(v4_reasons)} motivo(s): «{v4_reasons[0].reason}».
   Declarando `aliases: ["name"]` en `full_name` pasa BACKWARD
   ({"sí" if fixed_verdicts["BACKWARD"] else "no"}) pero no FORWARD
   ({"sí" if fixed_verdicts["FORWARD"] else "no"}): habría que actualizar antes a los consumidores,
   o mantener `name` y `created_at` para ser FULL.
4. **Migrar de forma progresiva y explícita**: los datos antiguos se suben a la versión actual
   al cargarlos ({load["records_by_version"].get("v1", 0)} registros v1 del CSV legado están
   ahora en la tabla v3 con `updated_at` = `created_at`), con {len(walk["errors_after"])} errores
   tras el upgrade; un downgrade que perdería datos se rechaza en lugar de truncar.
5. **No perder nada en silencio**: los {load["files_quarantined"]} ficheros con esquema
   incompatible o datos inválidos quedaron en cuarentena con su motivo, y el resto se cargó.
"""))

# %% [markdown]
# ## Escalado horizontal y despliegue blue-green
#
# Esta parte del día se ejecuta todavía fuera del cuaderno, con los mismos helpers que usarán
# sus celdas (`notebooks/dia_4_escalado/secciones/escalado_deploy.py` es su borrador):
#
# ```bash
# opsbook stack up --executor celery --workers 2   # CeleryExecutor + PostgreSQL + Redis
# opsbook stack scale --workers 3                  # añade o retira workers en vivo
# ./deploy-zero-downtime.sh v2                     # blue-green en seis pasos, con registro
# opsbook stack up                                 # vuelve al modo por defecto (Local + SQLite)
# ```
#
# `make test` los comprueba contra la pila real en `tests/integration/test_celery.py` y
# `tests/integration/test_blue_green.py` (despliegue bajo carga sin peticiones fallidas y
# rollback de una versión green que no pasa su prueba de humo).
