package mlflowfake

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// condition is one "key = 'value'" (or !=) of a search filter.
type condition struct {
	attr, tag, op, value string
}

// conditionRE reads one condition of MLflow's filter syntax: an attribute (name, run_id,
// source_path, version_number) or a tag (tags.key, tags.`key`, `tags`.`key`), = or !=, and
// a value in single or double quotes (a number for version_number).
var conditionRE = regexp.MustCompile("^\\s*(?:(name|run_id|source_path|version_number)|`?tags`?\\.(?:`([^`]+)`|([\\w.]+)))\\s*(=|!=)\\s*(?:'([^']*)'|\"([^\"]*)\"|(\\d+))\\s*$")

var andRE = regexp.MustCompile(`(?i)\s+and\s+`)

// parseFilter reads conditions joined by AND; MLflow's search has no OR.
func parseFilter(filter string) ([]condition, *response) {
	if strings.TrimSpace(filter) == "" {
		return nil, nil
	}
	var out []condition
	for _, part := range andRE.Split(filter, -1) {
		m := conditionRE.FindStringSubmatch(part)
		if m == nil {
			return nil, mlflowError("INVALID_PARAMETER_VALUE", "Invalid filter '%s': cannot read '%s' (conditions are joined by AND, no OR)", filter, strings.TrimSpace(part))
		}
		c := condition{attr: m[1], tag: m[2] + m[3], op: m[4], value: m[5] + m[6] + m[7]}
		if m[7] != "" && c.attr != "version_number" {
			return nil, mlflowError("INVALID_PARAMETER_VALUE", "Invalid filter '%s': the value of %s must be a quoted string", filter, c.attr+c.tag)
		}
		out = append(out, c)
	}
	return out, nil
}

func (c condition) matches(m *model, v *version) bool {
	var got string
	var present bool
	switch c.attr {
	case "name":
		got, present = m.name, true
	case "run_id":
		got, present = v.runID, true
	case "source_path":
		got, present = v.source, true
	case "version_number":
		got, present = strconv.Itoa(v.number), true
	default:
		got, present = v.tags[c.tag]
	}
	if c.op == "!=" {
		return present && got != c.value
	}
	return present && got == c.value
}

func (s *Server) searchModelVersions(rq *request) *response {
	conds, r := parseFilter(rq.param("filter"))
	if r != nil {
		return r
	}
	size := s.pageSize
	if v := rq.param("max_results"); v != "" {
		n, _ := strconv.Atoi(v) // the contract made it an integer ≥ 1
		if n > 200000 {
			return mlflowError("INVALID_PARAMETER_VALUE", "Invalid value for max_results. It must be at most 200000, but got %d", n)
		}
		size = n
	}
	offset := 0
	if tok := rq.param("page_token"); tok != "" {
		var valid bool
		if offset, valid = parsePageToken(tok); !valid {
			return mlflowError("INVALID_PARAMETER_VALUE", "Invalid page token, could not base64-decode")
		}
	}
	type hit struct {
		m *model
		v *version
	}
	var hits []hit
	for _, m := range s.models {
		for _, v := range m.versions {
			if !slices.ContainsFunc(conds, func(c condition) bool { return !c.matches(m, v) }) {
				hits = append(hits, hit{m, v})
			}
		}
	}
	// Name ascending, then version descending, as MLflow's tiebreak.
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.m.name, b.m.name), cmp.Compare(b.v.number, a.v.number))
	})
	out := map[string]any{}
	if offset < len(hits) {
		end := min(offset+size, len(hits))
		var page []map[string]any
		for _, h := range hits[offset:end] {
			page = append(page, s.versionJSON(h.m, h.v))
		}
		out["model_versions"] = page
		if end < len(hits) {
			out["next_page_token"] = pageToken(end)
		}
	}
	return ok(out)
}
