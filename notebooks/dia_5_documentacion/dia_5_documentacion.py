# ---
# jupyter:
#   kernelspec:
#     display_name: Python (opsbook)
#     language: python
#     name: opsbook
# ---

# %% [markdown]
# # Día 5 · Documentación técnica y comunicación ejecutiva
#
# La semana ya dejó evidencias medidas: pruebas (día 1), métricas y alertas (día 2), incidentes y
# MTTR (día 3), escalado, versionado y despliegue sin cortes (día 4). Hoy las convertimos en
# **productos de comunicación**: documentación que sirve de puerta de entrada y una presentación
# ejecutiva generada desde código, nunca retocada a mano.
#
# **Objetivos**
#
# 1. Tratar el README y `docs/` como un producto: comprobar que existen, que el README empieza por
#    los dos comandos y que enlaza cada página.
# 2. Medir el código autodocumentado (docstrings estilo Google) en lugar de suponerlo.
# 3. Explicar un mismo concepto a tres audiencias (técnica, negocio, dirección) **con las mismas
#    cifras**.
# 4. Generar la presentación ejecutiva SCQA desde los `resumen.json` de la semana, verla como
#    imágenes y comprobar que cada cifra coincide con su fuente.
# 5. **Ejercicios calificados** (escribes tú el código y los documentos, contra la pila real):
#    docstrings estilo Google que aceptan las reglas del proyecto, una diapositiva SCQA construida
#    con **tus** cifras medidas y la sección del README para un operador con los comandos y puertos
#    reales de tu pila. Después, las preguntas de verificación.
#
# **Cómo se califica.** Escribe solo en las celdas marcadas `# YOUR CODE HERE` (borra el
# `raise NotImplementedError()`). Las celdas de comprobación son de solo lectura: las que ves
# son las públicas; el corrector añade comprobaciones ocultas que pasan el verificador de
# docstrings del proyecto (ruff, convención Google) por tu código, abren con python-pptx la
# diapositiva que has generado y comparan sus cifras con una medida nueva de la pila, y prueban
# los comandos y puertos de tu README contra la línea de órdenes `opsbook` y la pila viva — nunca
# se fían de lo que imprima el cuaderno. El corrector vuelve a ejecutar tu cuaderno desde cero
# con tu identificador (`alumno`): tus ficheros van a `evidencia/dia_5/alumnos/<alumno>/`.

# %% [markdown]
# Antes de empezar: comprobamos en un segundo que está todo lo que necesita el día (si falta algo, el
# mensaje dice qué comando lo arregla).

# %%
from opsbook.course.preflight import preparar

preparar(dia=5)

# %% tags=["parameters"]
renderizar = True      # convertir la presentación a PDF/PNG con LibreOffice (si está instalado)
dpi = 50               # resolución de las imágenes de las diapositivas (30..200)
dias_requeridos = 0    # días 1–4 que deben tener resumen.json (0 = tolerar días sin ejecutar)
alumno = "referencia"  # tu identificador (el corrector pone el de tu carpeta de entrega)

# %%
from IPython.display import Image, Markdown, display
from opsbook import evidence
from opsbook.course import audiences, day1, day5, deck_render, week_facts
from opsbook.course.deck import HEIGHT, WIDTH, build_deck
from opsbook.course.doccheck import docstring_coverage
from opsbook.observability import catalog

params = day5.check_params(renderizar, dpi, dias_requeridos)
alumno = day1.check_student(alumno)
params

# %% [markdown]
# ## 1. Los hechos de la semana
#
# Todo lo que sigue sale de `evidencia/dia_N/resumen.json`. El esquema de claves esperado por día
# está en `docs/esquema_resumen.md` (y en `opsbook.course.week_facts.SCHEMA`). Un día sin resumen no
# se inventa: aparece como «sin datos».

# %%
summaries = week_facts.load_summaries()
facts = week_facts.extract(summaries)
present = week_facts.days_present(summaries)
display(Markdown(week_facts.facts_table_markdown(facts)))
print("días con resumen:", present or "ninguno")

# %%
assert len(present) >= params["dias_requeridos"], (
    f"solo {len(present)} días con resumen; ejecuta antes sus cuadernos (make run)")
assert facts["metrics_total"].value == len(catalog.METRICS), "el día 2 y el catálogo deben contar las mismas métricas"
assert all(f.source is None or f.source.split("/")[0].removeprefix("dia_").isdigit()
           or f.source.startswith("opsbook.") for f in facts.values())

# %% [markdown]
# ## 2. La documentación como producto
#
# El README es la puerta de entrada: propósito de negocio, arquitectura, inicio rápido, guía de
# desarrollo y solución de problemas. `docs/` guarda la documentación técnica (arquitectura, flujo
# de datos, decisiones ADR, escalabilidad/fiabilidad/mantenibilidad, métricas de éxito, manual
# operativo, recuperación ante desastres) y una guía en lenguaje llano para negocio.

# %%
import pandas as pd

inventory = pd.DataFrame(day5.docs_inventory())
inventory[["page", "title", "lines", "exists", "linked_from_readme"]]

# %%
assert inventory["exists"].all(), inventory.loc[~inventory["exists"], "page"].tolist()
assert inventory["linked_from_readme"].all(), inventory.loc[~inventory["linked_from_readme"], "page"].tolist()
assert (inventory["title"] != "").all(), "cada página empieza con un título '# ...'"
assert day5.readme_starts_with_the_two_commands(), "el README debe empezar por make run / make test"

# %% [markdown]
# ## 3. Código autodocumentado
#
# Las docstrings estilo Google dicen **qué** hace una función y **por qué**, sus argumentos, lo
# que devuelve y los errores que lanza. ruff (reglas `D`, convención Google) las exige en
# `make test`; aquí medimos la cobertura como indicador de deuda técnica.

# %%
coverage = docstring_coverage()
pct = week_facts.fmt(round(coverage.percent, 1), "%")
print(f"elementos públicos de lib/opsbook: {coverage.total}, documentados: {coverage.documented} ({pct})")
print("sin docstring:", coverage.missing[:10] or "ninguno")

# %%
assert coverage.percent >= 95, f"cobertura de docstrings {coverage.percent:.1f} % < 95 %"

# %% [markdown]
# ## 4. Un concepto, tres audiencias
#
# Cambian el lenguaje, el detalle y el foco; **no cambian las cifras**. Cada concepto lleva una cifra
# común que las tres versiones citan.

# %%
explanations = audiences.explain(facts, coverage)
display(Markdown(audiences.as_markdown(explanations)))

# %%
assert [e.concept for e in explanations] == ["Refactorización", "Rendimiento y latencia", "Deuda técnica"]
assert all(e.consistent() for e in explanations), "las tres audiencias deben citar la misma cifra"
assert all(len(set(e.texts.values())) == 3 for e in explanations if e.figure != "sin datos"), \
    "cada audiencia recibe un mensaje distinto"

# %% [markdown]
# ## 5. La presentación ejecutiva (SCQA)
#
# Situación → Complicación → Pregunta → Respuesta, una idea por diapositiva y títulos que dicen la
# conclusión. Los gráficos son nativos de PowerPoint: sus valores quedan dentro del `.pptx` y los
# comprobamos contra los resúmenes. El mismo resultado se obtiene con `opsbook deck` o con el
# script `generar_presentacion_ejecutiva.py` de esta carpeta.

# %%
report = build_deck()
for i, slide in enumerate(report.slides, 1):
    print(f"{i:2d}. [{slide.section}] {slide.title}")

# %%
from pptx import Presentation

prs = Presentation(report.path)
assert len(prs.slides) == len(report.slides) == 12
assert abs(prs.slide_width / prs.slide_height - 16 / 9) < 0.01 and (prs.slide_width, prs.slide_height) == (WIDTH, HEIGHT)
assert all(sh.left + sh.width <= prs.slide_width and sh.top + sh.height <= prs.slide_height
           for s in prs.slides for sh in s.shapes), "todo dentro de la diapositiva 16:9"
assert day5.deck_mismatches(report.path, facts) == []
assert all(f"Día {d} sin datos" in " ".join(s.title for s in report.slides) for d in report.missing_days)

# %% [markdown]
# ### Las diapositivas, como imágenes
#
# LibreOffice convierte el `.pptx` a PDF y `pdftoppm` lo pasa a PNG. Si LibreOffice no está
# instalado (es opcional fuera de CI), lo decimos en lugar de fallar.

# %%
pages = []
if params["renderizar"] and deck_render.available():
    rendered = deck_render.render(report.path, evidence.day_dir(5) / "diapositivas", dpi=params["dpi"])
    pages = rendered.pages
    evidence.save_file(5, rendered.pdf, "Presentación ejecutiva en PDF (LibreOffice)")
    sheet = day5.contact_sheet(pages)
    evidence.save_figure(5, "diapositivas.png", sheet, "Las 12 diapositivas renderizadas")
    display(Image(filename=str(pages[0])))
    display(Image(filename=str(pages[4])))
else:
    display(Markdown("> **Aviso:** no se renderizaron las diapositivas ("
                     + ("parámetro renderizar=False" if not params["renderizar"] else
                        "faltan " + ", ".join(deck_render.missing_tools()))
                     + "). Instálalos con `apt-get install --no-install-recommends libreoffice-impress "
                       "poppler-utils fonts-crosextra-carlito` o `CI=true make setup`."))

# %%
if pages:
    ink = [deck_render.ink_ratio(p) for p in pages]
    assert len(pages) == len(report.slides)
    assert min(ink) > 0.005, "ninguna página en blanco"
    print("tinta por página:", [round(x, 3) for x in ink])

# %% [markdown]
# ### Un error a propósito
#
# Un parámetro mal puesto no debe producir una presentación rara: se detiene con un mensaje que
# dice qué cambiar. Tampoco se puede leer un día que no existe.

# %%
for bad in [dict(renderizar="sí", dpi=50, dias_requeridos=0), dict(renderizar=True, dpi=5, dias_requeridos=0)]:
    try:
        day5.check_params(**bad)
    except ValueError as exc:
        print("ValueError:", exc)
try:
    evidence.read_summary(9)
except (FileNotFoundError, ValueError) as exc:
    print(type(exc).__name__ + ":", exc)

# %% [markdown]
# ## 6. Evidencias y resumen del día

# %%
evidence.save_text(5, "tres_audiencias.md", audiences.as_markdown(explanations),
                   "Refactorización, latencia y deuda técnica para tres audiencias")
evidence.save_text(5, "metricas_de_exito.md", week_facts.facts_table_markdown(facts),
                   "Tabla de métricas de éxito medidas (para docs/metricas_de_exito.md)")
summary_path = evidence.write_summary(5, {
    "slides": len(report.slides),
    "days_with_data": present,
    "missing_days": report.missing_days,
    "docstring_coverage_pct": round(coverage.percent, 1),
    "public_objects": coverage.total,
    "docs_pages": int(inventory["exists"].sum()),
    "rendered_pages": len(pages),
    "deck_seconds": round(report.seconds, 2),
    "audiences_consistent": all(e.consistent() for e in explanations),
})
assert evidence.read_summary(5)["slides"] == 12

# %%
# NBVAL_CHECK_OUTPUT
print("diapositivas:", len(report.slides))
print("formato 16:9:", abs(prs.slide_width / prs.slide_height - 16 / 9) < 0.01)
print("secciones SCQA:", [s.section for s in report.slides[1:5]])
print("conceptos × audiencias:", len(explanations), "×", len(audiences.AUDIENCES))
print("páginas de documentación:", len(inventory))


# %% [markdown]
# ## 7. Ejercicio 1 · Docstrings que aceptan las reglas del proyecto
#
# Estas tres funciones ya hacen su trabajo, pero nadie sabe **qué** prometen sin leer el código.
# Escribe la docstring de cada una en estilo Google: una primera línea que resuma qué hace,
# `Args:` con **cada** parámetro, `Returns:` con lo que devuelve y `Raises:` con cada excepción
# que lanza y cuándo. No cambies el código de las funciones: el corrector también comprueba que
# siguen haciendo lo mismo. Las comprueba el mismo verificador que `make test` pasa por
# `lib/opsbook` (ruff, reglas `D` con la convención Google de `pyproject.toml`), el recuento de
# `opsbook.course.doccheck` y una comparación de cada docstring con el código.

# %%
from opsbook.course import day5_assignment
from opsbook.settings import HOST, Settings, settings


# %% nbgrader={"grade": false, "grade_id": "ej1_solucion", "locked": false, "schema_version": 3, "solution": true}
def mttr_minutos(duraciones_s: list[float]) -> float:
    ### BEGIN SOLUTION
    """Tiempo medio de recuperación (MTTR) de una lista de incidentes, en minutos.

    Args:
        duraciones_s: segundos desde la detección hasta la recuperación de cada incidente.

    Returns:
        La media de las duraciones en minutos, redondeada a una décima.

    Raises:
        ValueError: si no hay ningún incidente o alguna duración es negativa.
    """
    ### END SOLUTION
    if not duraciones_s or min(duraciones_s) < 0:
        raise ValueError("hacen falta duraciones no negativas")
    return round(sum(duraciones_s) / len(duraciones_s) / 60, 1)


def tasa_de_exito(correctas: int, total: int) -> float:
    ### BEGIN SOLUTION
    """Porcentaje de ejecuciones correctas de un DAG.

    Args:
        correctas: ejecuciones que terminaron en ``success``.
        total: ejecuciones contadas (las correctas incluidas).

    Returns:
        El porcentaje de 0 a 100, redondeado a una décima.

    Raises:
        ValueError: si ``total`` no es positivo o ``correctas`` no está entre 0 y ``total``.
    """
    ### END SOLUTION
    if total <= 0 or not 0 <= correctas <= total:
        raise ValueError(f"correctas={correctas}, total={total}: fuera de rango")
    return round(100 * correctas / total, 1)


def url_de_servicio(servicio: str, ajustes: Settings = settings) -> str:
    ### BEGIN SOLUTION
    """URL local de un servicio de la pila, con el puerto de la configuración.

    Args:
        servicio: nombre del servicio en ``ajustes.ports`` (``airflow``, ``prometheus``...).
        ajustes: configuración de la pila (por defecto la de este entorno, con su
            ``OPSBOOK_PORT_OFFSET``).

    Returns:
        ``http://127.0.0.1:<puerto>/`` del servicio.

    Raises:
        KeyError: si el servicio no es un puerto de la pila.
    """
    ### END SOLUTION
    if servicio not in ajustes.ports.__dataclass_fields__:
        raise KeyError(f"servicio desconocido: {servicio}")
    return f"http://{HOST}:{getattr(ajustes.ports, servicio)}/"


# %% nbgrader={"grade": true, "grade_id": "ej1_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
documentadas = [mttr_minutos, tasa_de_exito, url_de_servicio]
problemas_estilo = day5_assignment.docstring_problems(documentadas, semantic=False)
assert problemas_estilo == [], "\n".join(problemas_estilo)
print("ruff (D, convención Google) y doccheck: sin problemas en", len(documentadas), "funciones")

# %% nbgrader={"grade": true, "grade_id": "ej1_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
import pytest as _pytest

_problemas = day5_assignment.docstring_problems(documentadas)
assert _problemas == [], "\n".join(_problemas)
assert mttr_minutos([60, 120, 90]) == 1.5 and tasa_de_exito(3, 4) == 75.0
for _f, _args, _exc in ((mttr_minutos, ([],), ValueError), (mttr_minutos, ([30, -1],), ValueError),
                        (tasa_de_exito, (1, 0), ValueError), (tasa_de_exito, (5, 4), ValueError),
                        (url_de_servicio, ("grafana",), KeyError)):
    with _pytest.raises(_exc):
        _f(*_args)
_movida = day5_assignment.shifted(settings, 41)
assert url_de_servicio("prometheus", _movida) == f"http://{HOST}:{settings.ports.prometheus + 41}/"
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Ejercicio 2 · Tu diapositiva SCQA, con tus cifras
#
# La presentación de la sección 5 la genera el proyecto. Ahora haces tú una diapositiva SCQA con
# cifras que **mides tú** en este momento:
#
# 1. `medir_cifras()` devuelve un diccionario con, en este orden: `dags` (DAGs que lista la API de
#    Airflow, `airflow_api.dag_ids()`), `objetivos_up` (objetivos de Prometheus que responden,
#    `sum(up)` con `prom.value`), `ejecuciones_ok` (ejecuciones `success` de `pipeline_ventas`
#    entre las 100 últimas, `airflow_api.dag_runs`) y `dias_con_datos` (días 1–4 con
#    `resumen.json`, `week_facts`). Nada de números escritos a mano.
# 2. `diapositiva_scqa(cifras, ruta)` escribe en `ruta` un `.pptx` de **una** diapositiva 16:9
#    (`deck.WIDTH`, `deck.HEIGHT`) con un título que diga la conclusión, un texto con las cuatro
#    partes («Situación», «Complicación», «Pregunta», «Respuesta») que cite al menos dos cifras, y
#    un gráfico nativo de columnas (`CategoryChartData`) con las cuatro cifras en ese orden. Todo
#    dentro de la diapositiva. Devuelve `ruta`.
#
# El corrector abre tu `.pptx`, vuelve a medir la pila y además llama a tu función con otras
# cifras: la diapositiva tiene que cambiar con ellas.

# %%
from pathlib import Path

from opsbook.airflow import client as airflow_api
from opsbook.observability import prom
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Inches, Pt

ruta_scqa = day5_assignment.fresh_file(alumno, "scqa.pptx")  # sin restos de otra ejecución
print("tu diapositiva irá a", ruta_scqa.relative_to(evidence.day_dir(5).parent.parent))

# %% nbgrader={"grade": false, "grade_id": "ej2_solucion", "locked": false, "schema_version": 3, "solution": true}
def medir_cifras() -> dict[str, int]:
    """Las cifras de la diapositiva, medidas ahora en la pila y en los resúmenes de la semana."""
    ### BEGIN SOLUTION
    ids = airflow_api.dag_ids()
    ejecuciones = airflow_api.dag_runs("pipeline_ventas", limit=100) if "pipeline_ventas" in ids else []
    return {"dags": len(ids),
            "objetivos_up": int(prom.value("sum(up)", default=0.0)),
            "ejecuciones_ok": sum(e["state"] == "success" for e in ejecuciones),
            "dias_con_datos": len(week_facts.days_present(week_facts.load_summaries()))}
    ### END SOLUTION


def diapositiva_scqa(cifras: dict[str, int], ruta: Path) -> Path:
    """Una diapositiva SCQA 16:9 con un gráfico nativo de las cifras, guardada en ``ruta``."""
    ### BEGIN SOLUTION
    from pptx import Presentation

    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDTH, HEIGHT
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # solo título
    faltan = 4 - cifras["dias_con_datos"]
    titulo = slide.shapes.title
    titulo.left, titulo.top, titulo.width, titulo.height = Inches(0.6), Inches(0.4), WIDTH - Inches(1.2), Inches(1.2)
    titulo.text = (f"La pila está sana ({cifras['objetivos_up']} objetivos vigilados); "
                   + (f"faltan datos de {faltan} día(s)" if faltan else "la semana tiene todos sus datos"))
    titulo.text_frame.paragraphs[0].runs[0].font.size = Pt(28)
    texto = slide.shapes.add_textbox(Inches(0.6), Inches(1.8), Inches(5.4), Inches(5.2)).text_frame
    texto.word_wrap = True
    partes = [
        f"Situación: Airflow ejecuta {cifras['dags']} DAGs y {cifras['ejecuciones_ok']} ejecuciones "
        "de pipeline_ventas terminaron bien.",
        f"Complicación: solo {cifras['dias_con_datos']} de 4 días tienen resumen medido.",
        "Pregunta: ¿podemos presentar la semana con cifras completas?",
        "Respuesta: ejecutar los días que faltan (make run) y regenerar la presentación.",
    ]
    texto.text = partes[0]
    for parte in partes[1:]:
        texto.add_paragraph().text = parte
    for parrafo in texto.paragraphs:
        parrafo.runs[0].font.size = Pt(18)
    datos = CategoryChartData()
    datos.categories = ["DAGs", "Objetivos up", "Ejecuciones OK", "Días con datos"]
    datos.add_series("medido ahora", [cifras[k] for k in day5_assignment.FIGURES])
    slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(6.3), Inches(1.8),
                           Inches(6.4), Inches(5.2), datos)
    ruta.parent.mkdir(parents=True, exist_ok=True)
    prs.save(ruta)
    ### END SOLUTION
    return ruta


cifras = medir_cifras()
diapositiva_scqa(cifras, ruta_scqa)
cifras

# %% nbgrader={"grade": true, "grade_id": "ej2_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
assert list(cifras) == list(day5_assignment.FIGURES), list(cifras)
mi_diapositiva = day5_assignment.read_slide(ruta_scqa)
assert mi_diapositiva.slides == 1 and mi_diapositiva.widescreen, mi_diapositiva
assert len(mi_diapositiva.values) == len(day5_assignment.FIGURES), mi_diapositiva.values
print("título:", mi_diapositiva.title)
print("gráfico:", dict(zip(mi_diapositiva.categories, mi_diapositiva.values, strict=True)))

# %% nbgrader={"grade": true, "grade_id": "ej2_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
import random as _random
import tempfile as _tempfile

for _intento in range(3):  # una ejecución que termina entre dos medidas mueve las cifras
    _medidas = day5_assignment.live_figures()
    _suyas = medir_cifras()
    if _suyas == _medidas:
        break
assert _suyas == _medidas, (_suyas, _medidas)
_problemas = day5_assignment.slide_problems(ruta_scqa, cifras)
assert _problemas == [], _problemas
_ruta = Path(_tempfile.mkdtemp(prefix="dia5_scqa_")) / "ahora.pptx"
assert diapositiva_scqa(_medidas, _ruta) == _ruta
_problemas = day5_assignment.slide_problems(_ruta, _medidas)
assert _problemas == [], _problemas
_azar = _random.Random(day1.student_seed(alumno))
_otras = {"dags": _azar.randint(20, 60), "objetivos_up": _azar.randint(7, 19),
          "ejecuciones_ok": _azar.randint(61, 99), "dias_con_datos": _azar.choice([1, 2, 3])}
_ruta = Path(_tempfile.mkdtemp(prefix="dia5_scqa_")) / "otra.pptx"
assert diapositiva_scqa(_otras, _ruta) == _ruta
_problemas = day5_assignment.slide_problems(_ruta, _otras)
assert _problemas == [], _problemas
### END HIDDEN TESTS

# %% [markdown]
# ## 9. Ejercicio 3 · La sección del README para un operador
#
# Un operador de guardia no lee el código: necesita saber cómo arrancar, comprobar y parar la
# pila, y qué hacer si algo falla. Escribe `seccion_operador(ajustes)`: devuelve en Markdown una
# sección con los apartados `## Arrancar`, `## Comprobar`, `## Parar` y `## Si algo falla`, los
# comandos `opsbook stack up`, `opsbook stack status` y `opsbook stack down` en bloques de código, y
# las URL de Airflow, Prometheus y Alertmanager con los puertos de `ajustes.ports` (no los de
# memoria: con otro `OPSBOOK_PORT_OFFSET` cambian). Cada comando `opsbook ...` que cites debe
# existir y cada URL debe ser de un puerto de la pila que responde.

# %%
ruta_readme = day5_assignment.fresh_file(alumno, "README_operador.md")  # sin restos de otra ejecución

# %% nbgrader={"grade": false, "grade_id": "ej3_solucion", "locked": false, "schema_version": 3, "solution": true}
def seccion_operador(ajustes: Settings) -> str:
    """La sección del README para un operador, con los puertos de ``ajustes``."""
    ### BEGIN SOLUTION
    p = ajustes.ports
    return f"""# Operar la pila de opsbook

## Arrancar

```bash
opsbook stack up
```

Arranca Airflow, Prometheus, Alertmanager y el puente StatsD, y espera a que estén sanos.

## Comprobar

```bash
opsbook stack status
```

- Airflow: http://{HOST}:{p.airflow}/ (usuario `admin`)
- Prometheus: http://{HOST}:{p.prometheus}/ (objetivos en `/targets`, alertas en `/alerts`)
- Alertmanager: http://{HOST}:{p.alertmanager}/

## Parar

```bash
opsbook stack down
```

Comprueba al terminar que no queda ningún proceso de la pila.

## Si algo falla

1. `opsbook stack status` dice qué componente no está sano.
2. Revisa sus registros en `var/` y el manual operativo (`docs/manual_operativo.md`).
3. Si un puerto está ocupado por otra pila, arranca con otro `OPSBOOK_PORT_OFFSET`.
"""
    ### END SOLUTION


texto_readme = seccion_operador(settings)
ruta_readme.write_text(texto_readme, encoding="utf-8")
display(Markdown(texto_readme))

# %% nbgrader={"grade": true, "grade_id": "ej3_publicas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
problemas_readme = day5_assignment.readme_problems(texto_readme, settings, live=False)
assert problemas_readme == [], problemas_readme
print("comandos citados:", day5_assignment.cited_commands(texto_readme))
print("puertos citados:", day5_assignment.cited_ports(texto_readme))

# %% nbgrader={"grade": true, "grade_id": "ej3_ocultas", "locked": true, "points": 3, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
assert ruta_readme.read_text(encoding="utf-8") == seccion_operador(settings), "el fichero no es tu sección"
_problemas = day5_assignment.readme_problems(ruta_readme.read_text(encoding="utf-8"), settings, live=True)
assert _problemas == [], _problemas
_otra_pila = day5_assignment.shifted(settings, 1000 + len(alumno))
_texto = seccion_operador(_otra_pila)
_problemas = day5_assignment.readme_problems(_texto, _otra_pila, live=False)
assert _problemas == [], ("con otra pila", _problemas)
assert settings.ports.airflow not in day5_assignment.cited_ports(_texto), "puertos escritos a mano"
### END HIDDEN TESTS

# %% [markdown]
# ### Tu trabajo del día, como lo verá tu portafolio
#
# Esta celda muestra tu diapositiva (como imagen, si LibreOffice está instalado) y tu sección del
# README; `opsbook curso portafolio` la copia de tu entrega calificada.

# %% tags=["portafolio"]
if ruta_scqa.is_file() and params["renderizar"] and deck_render.available():
    mi_render = deck_render.render(ruta_scqa, ruta_scqa.parent / "scqa_png", dpi=params["dpi"])
    display(Image(filename=str(mi_render.pages[0])))
if ruta_scqa.is_file():
    print(day5_assignment.read_slide(ruta_scqa).text)
if ruta_readme.is_file():
    display(Markdown(ruta_readme.read_text(encoding="utf-8")))

# %% [markdown]
# ## 10. Preguntas de verificación
#
# Responde con las cifras de **tu** ejecución. Las tres primeras se califican solas; las dos
# últimas son abiertas y las revisa el instructor.
#
# **P1.** ¿Cuántas diapositivas tiene la presentación ejecutiva generada en la sección 5? Asigna
# el número a `respuesta_p1`.
#
# **P2.** ¿Qué porcentaje de los elementos públicos de `lib/opsbook` tiene docstring (con un
# decimal, como lo imprime la sección 3)? Asigna el número a `respuesta_p2`.
#
# **P3.** ¿En qué puerto responde Alertmanager en **tu** pila? Asigna el número a `respuesta_p3`.

# %% nbgrader={"grade": false, "grade_id": "p_respuestas", "locked": false, "schema_version": 3, "solution": true}
### BEGIN SOLUTION
respuesta_p1 = len(report.slides)
respuesta_p2 = round(coverage.percent, 1)
respuesta_p3 = settings.ports.alertmanager
### END SOLUTION
print(respuesta_p1, respuesta_p2, respuesta_p3)

# %% nbgrader={"grade": true, "grade_id": "p1", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert isinstance(respuesta_p1, int)
### BEGIN HIDDEN TESTS
assert respuesta_p1 == len(Presentation(report.path).slides)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "p2", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert isinstance(respuesta_p2, float)
### BEGIN HIDDEN TESTS
assert respuesta_p2 == round(docstring_coverage().percent, 1)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "p3", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert isinstance(respuesta_p3, int)
### BEGIN HIDDEN TESTS
assert respuesta_p3 == settings.ports.alertmanager and day5_assignment.answers(respuesta_p3)
### END HIDDEN TESTS

# %% [markdown]
# **P4 (abierta).** ¿Cómo adaptarías una presentación técnica para diferentes audiencias? Apóyate
# en una cifra de la sección 4 o de tu diapositiva.

# %% [markdown] nbgrader={"grade": true, "grade_id": "p4_abierta", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# Cambiando el lenguaje, el detalle y el foco, nunca las cifras. La latencia de alerta medida
# aparece en las tres versiones de la sección 4: para el equipo técnico explica el recorrido
# StatsD → Prometheus → Alertmanager; para negocio, cuánto antes se entera el equipo de un fallo;
# para dirección, cuánto se reduce la ventana de decisiones con datos incompletos. La
# presentación sigue SCQA, una idea por diapositiva, con títulos que dicen la conclusión; mi
# diapositiva lleva en el título los objetivos vigilados y los días que faltan.
# ### END SOLUTION

# %% [markdown]
# **P5 (abierta).** ¿Qué es más importante en la documentación: código comentado, README o
# diagramas? Cita la cobertura de docstrings que has medido.

# %% [markdown] nbgrader={"grade": true, "grade_id": "p5_abierta", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# Cumplen funciones distintas y se necesitan los tres. El README es la puerta de entrada (empieza
# por `make run` y `make test` y enlaza cada página de `docs/`; para el operador, arrancar,
# comprobar, parar y qué hacer si algo falla, con los puertos reales); las docstrings mantienen
# el código entendible (la cobertura medida en la sección 3 supera el 95 % y ruff la exige en cada
# `make test`); los diagramas (`docs/arquitectura.md`) explican el sistema en un vistazo.
# ### END SOLUTION

# %% [markdown]
# ## 11. Resumen del día
#
# Qué ha demostrado **tu** ejecución: cada comprobación visible que ha pasado en este kernel
# (las ocultas solo las ejecuta el corrector) y, cuando el instructor ya ha calificado el día,
# tu nota por ejercicio.

# %%
from opsbook.course import recap

recap.mostrar(dia=5, alumno=alumno)
