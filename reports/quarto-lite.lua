--[[
What Pandoc must imitate of Quarto to render report.qmd without Quarto (the fallback engine):
numbered cross-references to sections, figures and tables (@sec-, @fig-, @tbl-), "Figure N:"
caption prefixes in HTML (Typst numbers its own figures), fig-alt as the image's alt text,
callout blocks drawn as boxes, and `date-format: long`. Everything else in the source is plain
Pandoc Markdown, and every number is substituted before either engine runs. Run it before
--citeproc.
]]

local labels = {}
local is_typst = FORMAT:match("typst") ~= nil

local function inlines_text(text)
  return pandoc.Inlines(pandoc.read(text, "markdown").blocks[1].content)
end

-- pass 1: number sections, figures and tables in document order
local function collect(doc)
  local section = {0, 0, 0, 0, 0, 0}
  local fig, tbl = 0, 0
  doc:walk({
    Header = function(h)
      if h.classes:includes("unnumbered") then return end
      section[h.level] = section[h.level] + 1
      for l = h.level + 1, #section do section[l] = 0 end
      if h.identifier:match("^sec%-") then
        local parts = {}
        for l = 1, h.level do parts[#parts + 1] = tostring(section[l]) end
        labels[h.identifier] = "Section " .. table.concat(parts, ".")
      end
    end,
    Figure = function(f)
      if f.identifier:match("^fig%-") then
        fig = fig + 1
        labels[f.identifier] = "Figure " .. fig
      end
    end,
    Table = function(t)
      if t.identifier:match("^tbl%-") then
        tbl = tbl + 1
        labels[t.identifier] = "Table " .. tbl
      end
    end,
  })
end

local function is_crossref(id)
  return id:match("^sec%-") or id:match("^fig%-") or id:match("^tbl%-")
end

local function crossref(id)
  local text = labels[id]
  if not text then
    error("cross-reference to an unknown id: @" .. id)
  end
  return pandoc.Link(text, "#" .. id)
end

-- @fig-x -> "Figure 2" linked; a Cite mixing cross-references and citations is split
local function Cite(c)
  local out, rest = pandoc.Inlines({}), {}
  for _, citation in ipairs(c.citations) do
    if is_crossref(citation.id) then
      if #out > 0 then out:insert(pandoc.Space()) end
      out:insert(crossref(citation.id))
    else
      rest[#rest + 1] = citation
    end
  end
  if #rest == #c.citations then return nil end
  if #rest > 0 then
    out:insert(pandoc.Space())
    out:insert(pandoc.Cite(pandoc.Inlines({}), rest))
  end
  return out
end

local function Figure(f)
  -- the image's alt text is its fig-alt, not the caption
  f = f:walk({
    Image = function(img)
      local alt = img.attributes["fig-alt"]
      if alt then
        img.caption = inlines_text(alt)
        img.attributes["fig-alt"] = nil
      end
      return img
    end,
  })
  local alt = f.attributes["fig-alt"]
  if alt then
    f.attributes["fig-alt"] = nil
    f = f:walk({ Image = function(img) img.caption = inlines_text(alt); return img end })
  end
  if not is_typst and labels[f.identifier] and #f.caption.long > 0 then
    local first = f.caption.long[1]
    first.content:insert(1, pandoc.Str(labels[f.identifier] .. ": "))
  end
  return f
end

local function Table(t)
  if not is_typst and labels[t.identifier] and #t.caption.long > 0 then
    t.caption.long[1].content:insert(1, pandoc.Str(labels[t.identifier] .. ": "))
  end
  return t
end

local CALLOUT_COLORS = { note = "#0072B2", warning = "#D55E00", important = "#CC79A7", tip = "#009E73" }

local function Div(d)
  local kind
  for _, cls in ipairs(d.classes) do
    kind = kind or cls:match("^callout%-(%a+)$")
  end
  if not kind then return nil end
  local title = d.attributes["title"]
  d.attributes["title"] = nil
  local color = CALLOUT_COLORS[kind] or "#0072B2"
  if is_typst then
    local blocks = pandoc.Blocks({})
    blocks:insert(pandoc.RawBlock("typst", string.format(
      '#block(width: 100%%, inset: 8pt, radius: 2pt, stroke: (left: 3pt + rgb("%s"), rest: 0.5pt + rgb("%s")))[', color, color)))
    if title then
      blocks:insert(pandoc.Para({ pandoc.Strong(inlines_text(title)) }))
    end
    blocks:extend(d.content)
    blocks:insert(pandoc.RawBlock("typst", "]"))
    return blocks
  end
  local content = pandoc.Blocks({})
  if title then
    content:insert(pandoc.Div(pandoc.Plain(inlines_text(title)), pandoc.Attr("", { "callout-title" })))
  end
  content:insert(pandoc.Div(d.content, pandoc.Attr("", { "callout-body" })))
  return pandoc.Div(content, pandoc.Attr(d.identifier, { "callout", "callout-" .. kind }))
end

local MONTHS = { "January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December" }

local function long_date(meta)
  if pandoc.utils.stringify(meta["date-format"] or "") ~= "long" or not meta.date then return end
  local y, m, d = pandoc.utils.stringify(meta.date):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if y then
    meta.date = pandoc.MetaInlines({ pandoc.Str(string.format("%s %d, %s", MONTHS[tonumber(m)], tonumber(d), y)) })
  end
end

function Pandoc(doc)
  long_date(doc.meta)
  collect(doc)
  return doc:walk({ Cite = Cite, Figure = Figure, Table = Table, Div = Div })
end
