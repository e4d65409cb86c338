package directory

// County is one of Kenya's 47 counties, with its official code (First
// Schedule of the Constitution: Mombasa 1 … Nairobi 47) and a slug that is
// stable in URLs, forms, the database and the directory file. The county's
// name is in the catalogs under Key.
type County struct {
	Code int
	Slug string
}

// Special answers to "where": outside Kenya, and not said.
const (
	CountyOutside = "outside"
	CountyNotSaid = ""
)

// counties is in code order; Code is the index plus one.
var counties = [47]string{
	"mombasa", "kwale", "kilifi", "tana-river", "lamu", "taita-taveta",
	"garissa", "wajir", "mandera", "marsabit", "isiolo", "meru",
	"tharaka-nithi", "embu", "kitui", "machakos", "makueni", "nyandarua",
	"nyeri", "kirinyaga", "murang-a", "kiambu", "turkana", "west-pokot",
	"samburu", "trans-nzoia", "uasin-gishu", "elgeyo-marakwet", "nandi", "baringo",
	"laikipia", "nakuru", "narok", "kajiado", "kericho", "bomet",
	"kakamega", "vihiga", "bungoma", "busia", "siaya", "kisumu",
	"homa-bay", "migori", "kisii", "nyamira", "nairobi",
}

var countyIndex = func() map[string]int {
	m := make(map[string]int, len(counties))
	for i, s := range counties {
		m[s] = i
	}
	return m
}()

// Counties returns the 47 counties in code order. The slice is the caller's.
func Counties() []County {
	out := make([]County, len(counties))
	for i, s := range counties {
		out[i] = County{Code: i + 1, Slug: s}
	}
	return out
}

// CountyBySlug finds a county. CountyOutside and "" are not counties.
func CountyBySlug(slug string) (County, bool) {
	i, ok := countyIndex[slug]
	if !ok {
		return County{}, false
	}
	return County{Code: i + 1, Slug: slug}, true
}

// Key is the county's catalog key, e.g. "county.taita-taveta".
func (c County) Key() string { return CountyKey(c.Slug) }

// CountyKey is the catalog key for any answer to "where": a county slug,
// CountyOutside ("county.outside") or not said ("county.none").
func CountyKey(slug string) string {
	if slug == CountyNotSaid {
		return "county.none"
	}
	return "county." + slug
}

func isCounty(slug string) bool {
	_, ok := countyIndex[slug]
	return ok
}
