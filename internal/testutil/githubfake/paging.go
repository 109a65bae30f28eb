package githubfake

import (
	"fmt"
	"strconv"
	"strings"
)

// paginate cuts items to the page the request asks for (per_page default
// 30, at most 100; page from 1) and sets GitHub's Link header with next,
// last, first and prev where they apply.
func paginate[T any](s *Server, rq *request, rs *response, items []T) []T {
	perPage := 30
	if v, err := strconv.Atoi(rq.query.Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	page := 1
	if v, err := strconv.Atoi(rq.query.Get("page")); err == nil && v > 0 {
		page = v
	}
	last := max(1, (len(items)+perPage-1)/perPage)
	lo := min((page-1)*perPage, len(items))
	hi := min(lo+perPage, len(items))

	link := func(p int, rel string) string {
		q := rq.r.URL.Query()
		q.Set("per_page", strconv.Itoa(perPage))
		q.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s%s%s?%s>; rel="%s"`, s.http.URL, rq.prefix, rq.r.URL.EscapedPath(), q.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(min(page-1, last), "prev"))
	}
	if len(links) > 0 {
		rs.setHeader("Link", strings.Join(links, ", "))
	}
	return items[lo:hi]
}
