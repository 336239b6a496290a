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
# 5. Responder las preguntas de verificación con los números medidos.

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

# %%
from IPython.display import Image, Markdown, display
from opsbook import evidence
from opsbook.course import audiences, day5, deck_render, week_facts
from opsbook.course.deck import HEIGHT, WIDTH, build_deck
from opsbook.course.doccheck import docstring_coverage
from opsbook.observability import catalog

params = day5.check_params(renderizar, dpi, dias_requeridos)
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
# ## 7. Preguntas de verificación

# %%
lat = facts["alert_latency_s"]
display(Markdown(f"""
**¿Cómo adaptarías una presentación técnica para diferentes audiencias?**
Cambiando el lenguaje, el detalle y el foco, nunca las cifras. En este cuaderno la latencia de
alerta medida ({week_facts.fmt(lat.value, 's')}) aparece en las tres versiones: para el equipo técnico
explica el recorrido StatsD → Prometheus → Alertmanager; para negocio, cuánto antes se entera el
equipo de un fallo; para dirección, cuánto se reduce la ventana de decisiones con datos
incompletos. La presentación ejecutiva sigue SCQA en {len(report.slides)} diapositivas, una idea
por diapositiva, y sus títulos dicen la conclusión
{"(con " + str(len(report.missing_days)) + " día(s) aún sin datos, señalados en su diapositiva)" if report.missing_days else "con datos de los cuatro días"}.

**¿Qué es más importante en la documentación: código comentado, README o diagramas?**
Cumplen funciones distintas y se necesitan los tres. El README es la puerta de entrada (empieza por
`make run` y `make test` y enlaza las {len(inventory) - 1} páginas de `docs/`); las docstrings
mantienen el código entendible — hoy el {pct} de los {coverage.total} elementos
públicos de `lib/opsbook` las tiene, y ruff lo exige en cada `make test`; los diagramas
(`docs/arquitectura.md`, Mermaid + PNG) explican el sistema en un vistazo.
"""))
