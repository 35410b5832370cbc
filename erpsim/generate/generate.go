// Package generate fills an empty ERP store with a deterministic, realistic data set: companies,
// products (plain items and masters with variants) with every child kind of the data model,
// customers with addresses and contacts, sales representatives and commission groups, and trade
// agreements as a D365 shop has them (docs/pricing.md).
package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/erpsim/store"
)

// Config sizes the data set. Counts are totals over all companies, spread evenly. A zero
// MasterShare, VariantsPerMaster, ContactsPerCust, PriceGroups or Categories takes the default in
// Defaults; a negative MasterShare or ContactsPerCust means none.
type Config struct {
	Seed      uint64
	Companies []string // dataAreaIds; the first should be usmf (the default company)
	Languages []string // translation languages, e.g. en-us, de, nl, fr
	Products  int      // released products, all companies
	// MasterShare is the fraction of products that are product masters with variants.
	MasterShare       float64
	VariantsPerMaster int // at most len(colors) * len(sizes)
	Customers         int // all companies
	ContactsPerCust   int
	SalesReps         int // all companies
	PriceGroups       int // per company
	Categories        int // per company, including the top categories
	// Start is the ModifiedDateTime of the first generated transaction; later ones follow it by
	// a microsecond each.
	Start time.Time
}

// Defaults returns the demo catalog of `make dev`.
func Defaults() Config {
	return Config{
		Seed:              1,
		Companies:         []string{"usmf", "demf", "gbsi"},
		Languages:         []string{"en-us", "de", "nl", "fr"},
		Products:          3000,
		MasterShare:       0.2,
		VariantsPerMaster: 6,
		Customers:         300,
		ContactsPerCust:   2,
		SalesReps:         30,
		PriceGroups:       4,
		Categories:        40,
		Start:             time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func (c *Config) fill() {
	d := Defaults()
	if len(c.Companies) == 0 {
		c.Companies = d.Companies
	}
	if len(c.Languages) == 0 {
		c.Languages = d.Languages
	}
	if c.MasterShare == 0 {
		c.MasterShare = d.MasterShare
	}
	if c.ContactsPerCust == 0 {
		c.ContactsPerCust = d.ContactsPerCust
	}
	if c.Categories == 0 {
		c.Categories = d.Categories
	}
	if c.VariantsPerMaster <= 0 {
		c.VariantsPerMaster = d.VariantsPerMaster
	}
	c.VariantsPerMaster = min(c.VariantsPerMaster, len(colors)*len(sizes))
	if c.ContactsPerCust < 0 {
		c.ContactsPerCust = 0
	}
	if c.PriceGroups <= 0 {
		c.PriceGroups = d.PriceGroups
	}
	if c.Categories < len(topCategories) {
		c.Categories = len(topCategories)
	}
	if c.Start.IsZero() {
		c.Start = d.Start
	}
}

// Stats says what was generated.
type Stats struct {
	Records map[string]int64
	Took    time.Duration
}

// Total is the number of records over all collections.
func (s Stats) Total() int64 {
	var n int64
	for _, v := range s.Records {
		n += v
	}
	return n
}

// company describes a legal entity.
type company struct {
	id, name, lang, currency, country string
	l                                 int // word table column of the language
	index                             int // position in Config.Companies
}

var knownCompanies = map[string]company{
	"usmf": {name: "Contoso Entertainment System USA", lang: "en-us", currency: "USD", country: "USA"},
	"demf": {name: "Contoso Entertainment System Germany", lang: "de", currency: "EUR", country: "DEU"},
	"gbsi": {name: "Contoso Entertainment System UK", lang: "en-gb", currency: "GBP", country: "GBR"},
	"nlmf": {name: "Contoso Entertainment System Netherlands", lang: "nl", currency: "EUR", country: "NLD"},
	"frrt": {name: "Contoso Retail France", lang: "fr", currency: "EUR", country: "FRA"},
}

func describeCompany(id string) company {
	c, ok := knownCompanies[id]
	if !ok {
		c = company{name: "Contoso " + strings.ToUpper(id), lang: "en-us", currency: "USD", country: "USA"}
	}
	c.id = id
	c.l = lang(c.lang)
	return c
}

// gen holds the state of one run.
type gen struct {
	ctx    context.Context
	cfg    Config
	l      *store.Loader
	stats  map[string]int64
	stamp  time.Time
	nBatch int
	recID  int64 // the last SalesPriceAgreements RecordId
	discID int64 // the last SalesLineDiscountAgreements RecordId
	ean    int64
}

// batch is how many roots share one generated transaction (and so one ModifiedDateTime).
const batch = 500

// Run generates the data set into s, which should be empty. The same Config gives the same
// records. It loads in bulk (no bump rules: every record carries its transaction's stamp).
func Run(ctx context.Context, s *store.Store, cfg Config) (Stats, error) {
	cfg.fill()
	start := time.Now()
	g := &gen{ctx: ctx, cfg: cfg, stats: map[string]int64{}, stamp: cfg.Start.UTC().Truncate(time.Microsecond)}
	err := s.Load(ctx, func(l *store.Loader) error {
		g.l = l
		for i, id := range cfg.Companies {
			c := describeCompany(strings.ToLower(id))
			c.index = i
			if err := g.company(i, c); err != nil {
				return err
			}
		}
		return nil
	})
	return Stats{Records: g.stats, Took: time.Since(start)}, err
}

func (g *gen) insert(table string, vals ...any) error {
	g.stats[table]++
	return g.l.Insert(table, vals...)
}

// tick moves to the next transaction stamp every batch roots.
func (g *gen) tick() time.Time {
	if g.nBatch%batch == 0 {
		g.stamp = g.stamp.Add(time.Microsecond)
	}
	g.nBatch++
	return g.stamp
}

func share(total, n, i int) int {
	q := total / n
	if i < total%n {
		q++
	}
	return q
}

func dec(v int64, scale int) json.Number {
	s := strconv.FormatInt(v, 10)
	if scale == 0 {
		return json.Number(s)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= scale {
		s = "0" + s
	}
	out := s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		out = "-" + out
	}
	return json.Number(out)
}

func (g *gen) company(ci int, c company) error {
	cfg := g.cfg
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(ci)+1))
	stamp := g.tick()
	if err := g.insert(store.LegalEntities, c.id, c.id, c.name, c.lang, c.currency, stamp); err != nil {
		return err
	}
	if err := g.insert(store.PriceParameters, append(append([]any{c.id, int64(0)}, activation(ci, rng)...), stamp)...); err != nil {
		return err
	}
	priceGroups := []string{"Retail", "Wholesale", "Distributor", "VIP", "Export", "Education", "Government", "Partner"}
	if cfg.PriceGroups < len(priceGroups) {
		priceGroups = priceGroups[:cfg.PriceGroups]
	}
	for len(priceGroups) < cfg.PriceGroups {
		priceGroups = append(priceGroups, fmt.Sprintf("PG%02d", len(priceGroups)+1))
	}

	// Categories: the top categories, then subcategories below them.
	g.nBatch = 0
	stamp = g.tick()
	type cat struct {
		id  string
		top int
	}
	var cats []cat
	for i, tc := range topCategories {
		id := fmt.Sprintf("C%02d", i+1)
		cats = append(cats, cat{id, i})
		if err := g.insert(store.ProductCategories, c.id, id, tc[c.l], "", "Yes", stamp); err != nil {
			return err
		}
	}
	leavesByTop := make([][]string, len(topCategories))
	for i := len(topCategories); i < cfg.Categories; i++ {
		top := i % len(topCategories)
		id := fmt.Sprintf("C%02d-%03d", top+1, i)
		var ns []noun
		for _, n := range nouns {
			if n.top == top {
				ns = append(ns, n)
			}
		}
		name := topCategories[top][c.l] + " – " + ns[(i/len(topCategories))%len(ns)].words[c.l]
		if i >= len(topCategories)*(1+len(ns)) {
			name += fmt.Sprintf(" %d", i)
		}
		visible := "Yes"
		if rng.IntN(10) == 0 {
			visible = "No"
		}
		if err := g.insert(store.ProductCategories, c.id, id, name, cats[top].id, visible, stamp); err != nil {
			return err
		}
		leavesByTop[top] = append(leavesByTop[top], id)
	}
	for i := range leavesByTop {
		if len(leavesByTop[i]) == 0 {
			leavesByTop[i] = []string{cats[i].id}
		}
	}

	// Sales representatives and commission groups.
	reps := share(cfg.SalesReps, len(cfg.Companies), ci)
	nGroups := max(1, (reps+2)/3)
	g.nBatch = 0
	var groups []string
	for i := range nGroups {
		stamp = g.tick()
		id := fmt.Sprintf("SG%02d", i+1)
		groups = append(groups, id)
		region := cities[c.l][i%len(cities[c.l])].city
		if err := g.insert(store.CommissionSalesGroups, c.id, id, "Sales "+region, stamp); err != nil {
			return err
		}
	}
	g.nBatch = 0
	for i := range reps {
		stamp = g.tick()
		pn := fmt.Sprintf("%06d", 100*ci+i+1)
		first, last := firstNames[c.l][rng.IntN(12)], lastNames[c.l][rng.IntN(12)]
		email := strings.ToLower(strings.ReplaceAll(first+"."+last, " ", "")) + "@contoso.example"
		if err := g.insert(store.SalesRepresentatives, c.id, pn, first+" "+last, email, phone(rng, c), stamp); err != nil {
			return err
		}
		grp := groups[i%len(groups)]
		if err := g.insert(store.CommissionSalesRepresentatives, c.id, grp, pn, dec(int64(2500+rng.IntN(7500)), 2), stamp); err != nil {
			return err
		}
		if second := groups[rng.IntN(len(groups))]; second != grp && rng.IntN(3) == 0 {
			if err := g.insert(store.CommissionSalesRepresentatives, c.id, second, pn, dec(int64(1000+rng.IntN(4000)), 2), stamp); err != nil {
				return err
			}
		}
	}

	// Customers with addresses and contacts.
	customers := share(cfg.Customers, len(cfg.Companies), ci)
	prefix := strings.ToUpper(c.id[:2])
	var accounts []string
	g.nBatch = 0
	for i := range customers {
		stamp = g.tick()
		acct := fmt.Sprintf("%s-%03d", prefix, i+1)
		accounts = append(accounts, acct)
		org := lastNames[c.l][rng.IntN(12)] + " " + industries[c.l][rng.IntN(8)] + " " + legalForms[c.l][rng.IntN(4)]
		hold := "No"
		switch r := rng.IntN(20); {
		case r == 0:
			hold = []string{"Invoice", "All", "Payment", "Requisition"}[rng.IntN(4)]
		case r == 1:
			hold = "Never"
		}
		custLang := c.lang
		if rng.IntN(5) == 0 {
			custLang = cfg.Languages[rng.IntN(len(cfg.Languages))]
		}
		domain := strings.ToLower(strings.NewReplacer(" ", "", ".", "", "&", "", "ü", "ue", "ö", "oe", "ä", "ae", "é", "e").Replace(org))
		if len(domain) > 30 {
			domain = domain[:30]
		}
		currency := c.currency
		if rng.IntN(10) == 0 {
			currency = map[string]string{"USD": "EUR", "EUR": "USD", "GBP": "EUR"}[c.currency]
		}
		priceGroup, discGroup := "", ""
		if rng.IntN(5) > 0 {
			priceGroup = priceGroups[rng.IntN(len(priceGroups))]
		}
		if rng.IntN(2) == 0 {
			discGroup = customerDiscountGroups[rng.IntN(len(customerDiscountGroups))]
		}
		if k, ok := demoKind(ci, i); ok {
			priceGroup, discGroup, currency, hold = k.priceGroup(priceGroups), k.discountGroup(), c.currency, k.hold()
		}
		if err := g.insert(store.Customers, c.id, acct, org, []string{"10", "20", "30", "40"}[rng.IntN(4)],
			priceGroup, discGroup, currency, custLang, hold, groups[rng.IntN(len(groups))],
			"orders@"+domain+".example", phone(rng, c), stamp); err != nil {
			return err
		}
		nAddr := 1 + rng.IntN(2)
		for a := range nAddr {
			city := cities[c.l][rng.IntN(5)]
			roles, desc, primary := "Invoice;Delivery", "Head office", "Yes"
			if a > 0 {
				roles, desc, primary = "Delivery", "Warehouse", "No"
			}
			street := fmt.Sprintf("%s %d", streets[c.l][rng.IntN(5)], 1+rng.IntN(200))
			if err := g.insert(store.CustomerPostalAddresses, c.id, acct, fmt.Sprintf("%s-%d", acct, a+1), desc, street,
				city.city, city.zip, city.state, c.country, roles, primary, stamp); err != nil {
				return err
			}
		}
		for k := range cfg.ContactsPerCust {
			first, last := firstNames[c.l][rng.IntN(12)], lastNames[c.l][rng.IntN(12)]
			email := strings.ToLower(strings.ReplaceAll(first+"."+last, " ", "")) + "@" + domain + ".example"
			if err := g.insert(store.ContactPersons, c.id, fmt.Sprintf("CP-%s-%d", acct, k+1), acct, first, last,
				jobTitles[rng.IntN(len(jobTitles))], email, phone(rng, c), custLang, stamp); err != nil {
				return err
			}
		}
	}

	// The webshops' template customer (TemplateAccount): its price group prices what guests
	// see. Made without the random source, so the rest of the catalog stays what it was.
	stamp = g.tick()
	if err := g.insert(store.Customers, c.id, TemplateAccount(c.id), templateName[c.l], "40", priceGroups[0], "", c.currency, c.lang, "No", "",
		"webshop@contoso.example", "", stamp); err != nil {
		return err
	}

	// Products.
	g.nBatch = 0
	products := share(cfg.Products, len(cfg.Companies), ci)
	// The accounts random agreements may name, once per company (per product it took a walk
	// over every customer: hours for 1,000,000 products and 200,000 customers).
	others := randomAccounts(c.index, accounts)
	for i := range products {
		if i%10_000 == 0 {
			if err := g.ctx.Err(); err != nil {
				return err
			}
		}
		if err := g.product(rng, c, i, products, priceGroups, accounts, others, leavesByTop); err != nil {
			return err
		}
	}
	// Line discounts for groups and for all items, stored once for the company.
	g.nBatch = 0
	return g.groupDiscounts(rng, c, accounts)
}

func phone(rng *rand.Rand, c company) string {
	switch c.l {
	case 1:
		return fmt.Sprintf("+49 %d %07d", 30+rng.IntN(60), rng.IntN(10_000_000))
	case 2:
		return fmt.Sprintf("+31 %d %07d", 10+rng.IntN(80), rng.IntN(10_000_000))
	case 3:
		return fmt.Sprintf("+33 %d %08d", 1+rng.IntN(5), rng.IntN(100_000_000))
	}
	if c.country == "GBR" {
		return fmt.Sprintf("+44 20 %04d %04d", rng.IntN(10_000), rng.IntN(10_000))
	}
	return fmt.Sprintf("+1 %03d-%03d-%04d", 200+rng.IntN(800), rng.IntN(1000), rng.IntN(10_000))
}

// productText is a product's name and description in one language.
func productText(l int, brand string, n noun, adj [4]string, model string, years int) (name, desc string) {
	switch l {
	case 1:
		a := germanAdjective(adj[1], n.gender)
		name = fmt.Sprintf("%s %s %s %s", brand, a, n.words[1], model)
		garantie := fmt.Sprintf("%d Jahren", years)
		if years == 1 {
			garantie = "einem Jahr"
		}
		desc = fmt.Sprintf("%s %s von %s für Zuhause und Büro. Langlebig verarbeitet, mit %s Garantie.", a, n.words[1], brand, garantie)
	case 2:
		name = fmt.Sprintf("%s %s %s %s", brand, adj[2], strings.ToLower(n.words[2]), model)
		desc = fmt.Sprintf("%s %s van %s voor thuis en op kantoor. Gemaakt om lang mee te gaan, met %d jaar garantie.", adj[2], strings.ToLower(n.words[2]), brand, years)
	case 3:
		name = fmt.Sprintf("%s %s %s %s", brand, n.words[3], adj[3], model)
		desc = fmt.Sprintf("%s %s de %s pour la maison et le bureau. Conçu pour durer, garantie %d ans.", n.words[3], adj[3], brand, years)
	default:
		name = fmt.Sprintf("%s %s %s %s", brand, adj[0], n.words[0], model)
		desc = fmt.Sprintf("%s %s by %s for home and office. Built to last, with a %d-year warranty.", adj[0], strings.ToLower(n.words[0]), brand, years)
	}
	return name, desc
}

// nextEAN returns a new EAN-13 bar code with a valid check digit.
func (g *gen) nextEAN() string {
	g.ean++
	body := fmt.Sprintf("400%09d", g.ean)
	return body + strconv.Itoa(eanCheck(body))
}

// eanCheck is the EAN-13 check digit of 12 digits.
func eanCheck(body string) int {
	sum := 0
	for i, c := range body {
		d := int(c - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

// TemplateAccount is the account of company's template customer: the customer whose price
// group (the company's first, Retail) and agreements price what a webshop's guests see (Sana's
// "template customer" of a webshop, docs/webshops.md). It has no sales group, no address and no
// contact, and the change driver leaves it alone (IsTemplate).
func TemplateAccount(company string) string { return strings.ToUpper(company[:2]) + templateSuffix }

const templateSuffix = "-WEB"

// IsTemplate reports whether account is a template customer's (TemplateAccount).
func IsTemplate(account string) bool { return strings.HasSuffix(account, templateSuffix) }

// templateName is the template customer's name, per word table column.
var templateName = [4]string{"Webshop guests (template customer)", "Webshop-Gäste (Vorlagekunde)", "Webshopgasten (sjabloonklant)",
	"Visiteurs de la boutique (client modèle)"}

// SystemLanguage is the ERP's system language: the language of the products' own texts.
const SystemLanguage = "en-us"

func itemNumber(i int) string { return strconv.Itoa(1000 + i) }

func (g *gen) product(rng *rand.Rand, c company, i, products int, priceGroups, accounts, others []string, leavesByTop [][]string) error {
	cfg := g.cfg
	stamp := g.tick()
	item := itemNumber(i)
	n := nouns[rng.IntN(len(nouns))]
	adj := adjectives[rng.IntN(len(adjectives))]
	brand := brands[rng.IntN(len(brands))]
	model := fmt.Sprintf("%c%d", 'A'+rune(rng.IntN(26)), 100+rng.IntN(900))
	years := 1 + rng.IntN(5)
	master := rng.Float64() < cfg.MasterShare
	// A released product's own name and description are in the system language (D365 keeps
	// them as the product's translation in that language); each company's language comes from
	// the translations.
	name, desc := productText(lang(SystemLanguage), brand, n, adj, model, years)
	subType, dimGroup := "Product", ""
	if master {
		subType, dimGroup = "ProductMaster", "ColSize"
	}
	priceCents := int64(199 + rng.IntN(99_800))
	price := dec(priceCents, 2)
	unit := "ea"
	if n.top == 5 {
		unit = "pcs"
	}
	search := strings.ToUpper(strings.ReplaceAll(brand+n.words[0], " ", ""))
	if len(search) > 20 {
		search = search[:20]
	}
	discGroup := ""
	if rng.IntN(5) > 0 {
		discGroup = itemDiscountGroup(n.top)
	}
	// The released product's shared product is numbered like the item (D365's default), so
	// item 1000 of every company releases product 1000.
	if err := g.insert(store.ReleasedProducts, c.id, item, item, name, search, desc, subType, dimGroup,
		strings.ToUpper(topCategories[n.top][0][:4]), unit, price, c.currency, discGroup, stamp); err != nil {
		return err
	}
	if c.index == 0 {
		if err := g.unitConversions(item, i, unit, stamp); err != nil {
			return err
		}
	}
	for _, lid := range cfg.Languages {
		tn, td := productText(lang(lid), brand, n, adj, model, years)
		if err := g.insert(store.ProductTranslations, c.id, item, lid, tn, td, stamp); err != nil {
			return err
		}
	}
	// Default order settings; a few items are stopped for sales.
	maxQty, multiple := dec(0, 0), dec(0, 0)
	if rng.IntN(4) == 0 {
		maxQty = dec(int64(50+rng.IntN(950)), 0)
	}
	if rng.IntN(4) == 0 {
		multiple = dec([]int64{2, 5, 6, 10, 12}[rng.IntN(5)], 0)
	}
	stopped := "No"
	if rng.IntN(30) == 0 {
		stopped = "Yes"
	}
	if err := g.insert(store.ItemDefaultOrderSettings, c.id, item, dec(1, 0), maxQty, multiple, dec(1, 0), stopped, stamp); err != nil {
		return err
	}
	// Attachments: a default image, sometimes a second image and a data sheet.
	nImg := 1 + rng.IntN(2)
	for a := range nImg {
		def := "No"
		if a == 0 {
			def = "Yes"
		}
		file := fmt.Sprintf("%s-%d.jpg", item, a+1)
		if err := g.insert(store.ProductAttachments, c.id, item, fmt.Sprintf("IMG%d", a+1), "Image", file, name,
			fmt.Sprintf("https://media.contoso.example/%s/%s", c.id, file), def, int64(a+1), stamp); err != nil {
			return err
		}
	}
	if rng.IntN(3) == 0 {
		file := item + "-datasheet.pdf"
		if err := g.insert(store.ProductAttachments, c.id, item, "DOC1", "File", file, "Data sheet",
			fmt.Sprintf("https://media.contoso.example/%s/%s", c.id, file), "No", int64(nImg+1), stamp); err != nil {
			return err
		}
	}
	// Categories: a leaf of the noun's top category, sometimes a second one.
	leaves := leavesByTop[n.top]
	first := leaves[rng.IntN(len(leaves))]
	if err := g.insert(store.ProductCategoryAssignments, c.id, item, first, int64(1+rng.IntN(100)), stamp); err != nil {
		return err
	}
	if second := leavesByTop[rng.IntN(len(leavesByTop))]; rng.IntN(4) == 0 {
		if id := second[rng.IntN(len(second))]; id != first {
			if err := g.insert(store.ProductCategoryAssignments, c.id, item, id, int64(1+rng.IntN(100)), stamp); err != nil {
				return err
			}
		}
	}
	// Related products among nearby items.
	if products > 1 {
		seen := map[string]bool{item: true}
		for k := range rng.IntN(3) {
			other := itemNumber(rng.IntN(products))
			if seen[other] {
				continue
			}
			seen[other] = true
			rel := []string{"Accessory", "Similar", "CrossSell", "UpSell"}[rng.IntN(4)]
			if err := g.insert(store.RelatedProducts, c.id, item, other, rel, int64(k+1), stamp); err != nil {
				return err
			}
		}
	}
	// Variants of a master: colours x sizes.
	type variant struct{ color, size string }
	var variants []variant
	if master {
		nc := 1 + rng.IntN(min(len(colors), cfg.VariantsPerMaster))
		ns := max(1, min(len(sizes), (cfg.VariantsPerMaster+nc-1)/nc))
		cs := rng.Perm(len(colors))[:nc]
		ss := sizes[:ns]
		if n.top != 5 {
			ss = []string{"S", "M", "L", "XL", "XXL", "XS"}[:ns]
		}
		for k, ci := range cs {
			col := colors[ci]
			if err := g.insert(store.ProductMasterDimensionValues, c.id, item, "Color", col.id, col.name, int64(k+1), stamp); err != nil {
				return err
			}
		}
		for k, s := range ss {
			if err := g.insert(store.ProductMasterDimensionValues, c.id, item, "Size", s, "Size "+s, int64(k+1), stamp); err != nil {
				return err
			}
		}
		for _, ci := range cs {
			for _, s := range ss {
				if len(variants) == cfg.VariantsPerMaster {
					break
				}
				col := colors[ci]
				variants = append(variants, variant{col.id, s})
				if err := g.insert(store.ReleasedProductVariants, c.id, item, col.id, "", s, "",
					fmt.Sprintf("%s-%s-%s", item, col.id, s), fmt.Sprintf("%s, %s, %s", name, col.name, s), desc, stamp); err != nil {
					return err
				}
			}
		}
	}
	// Bar codes: one per item or per variant.
	if len(variants) == 0 {
		if err := g.insert(store.ProductBarcodes, c.id, g.nextEAN(), item, "", "", "", "", "EAN13", "Yes", stamp); err != nil {
			return err
		}
	}
	for k, v := range variants {
		def := "No"
		if k == 0 {
			def = "Yes"
		}
		if err := g.insert(store.ProductBarcodes, c.id, g.nextEAN(), item, v.color, "", v.size, "", "EAN13", def, stamp); err != nil {
			return err
		}
	}
	// Sales price agreements, all for this item (D365 has no all-items prices): a price for one
	// price group a few percent below the base price, quantity breaks for all customers, a
	// customer's net price for a quarter, sometimes a variant price or a foreign currency.
	// Find next is mostly on, as D365's journal proposes it.
	findNext := func() string {
		if rng.IntN(10) < 7 {
			return "Yes"
		}
		return "No"
	}
	agreement := func(variant variant, account, custAcct, group, currency string, cents int64, from, to int64, vFrom, vTo string) error {
		g.recID++
		return g.insert(store.SalesPriceAgreements, c.id, g.recID, "Table", item, variant.color, "", variant.size, "",
			account, custAcct, group, currency, dec(cents, 2), unit, dec(from, 0), dec(to, 0), vFrom, vTo, findNext(), stamp)
	}
	pg := priceGroups[rng.IntN(len(priceGroups))]
	if err := agreement(variant{}, "GroupId", "", pg, c.currency, priceCents*int64(92+rng.IntN(6))/100, 1, 0, store.NoDateFrom, store.NoDateTo); err != nil {
		return err
	}
	if rng.IntN(2) == 0 {
		if err := agreement(variant{}, "All", "", "", c.currency, priceCents*95/100, 10, 49, store.NoDateFrom, store.NoDateTo); err != nil {
			return err
		}
		if err := agreement(variant{}, "All", "", "", c.currency, priceCents*90/100, 50, 0, store.NoDateFrom, store.NoDateTo); err != nil {
			return err
		}
	}
	if len(others) > 0 && rng.IntN(3) == 0 {
		from := time.Date(2026, time.Month(1+rng.IntN(12)), 1, 0, 0, 0, 0, time.UTC)
		if err := agreement(variant{}, "Table", others[rng.IntN(len(others))], "", c.currency, priceCents*85/100, 1, 0,
			from.Format(time.DateOnly), from.AddDate(0, 3, -1).Format(time.DateOnly)); err != nil {
			return err
		}
	}
	// The demo customer with net prices has one on every fourth item of its company.
	if acct, ok := demoAccount(c, accounts, demoCustomerPrice); ok && i%4 == 0 {
		if err := agreement(variant{}, "Table", acct, "", c.currency, priceCents*88/100, 1, 0, store.NoDateFrom, store.NoDateTo); err != nil {
			return err
		}
	}
	if len(variants) > 0 && rng.IntN(2) == 0 {
		v := variants[rng.IntN(len(variants))]
		if err := agreement(v, "All", "", "", c.currency, priceCents+500, 1, 0, store.NoDateFrom, store.NoDateTo); err != nil {
			return err
		}
	}
	if rng.IntN(8) == 0 {
		other := map[string]string{"USD": "EUR", "EUR": "USD", "GBP": "EUR"}[c.currency]
		if err := agreement(variant{}, "All", "", "", other, priceCents*11/10, 1, 0, store.NoDateFrom, store.NoDateTo); err != nil {
			return err
		}
	}
	// Item line discounts: a promotion for everybody for a quarter, a percentage for one
	// customer, or an amount off for one customer line discount group.
	if rng.IntN(10) == 0 {
		from := time.Date(2026, time.Month(1+rng.IntN(12)), 1, 0, 0, 0, 0, time.UTC)
		if err := g.discount(c, discountLine{item: "Table", itemRel: item, account: "All", currency: c.currency, unit: unit,
			pct1: dec(int64(5+5*rng.IntN(2)), 0), from: from.Format(time.DateOnly), to: from.AddDate(0, 3, -1).Format(time.DateOnly),
			findNext: findNext()}, stamp); err != nil {
			return err
		}
	}
	if len(others) > 0 && rng.IntN(20) == 0 {
		if err := g.discount(c, discountLine{item: "Table", itemRel: item, account: "Table", accountRel: others[rng.IntN(len(others))],
			currency: c.currency, unit: unit, pct1: dec(3, 0), findNext: findNext()}, stamp); err != nil {
			return err
		}
	}
	if rng.IntN(15) == 0 {
		if err := g.discount(c, discountLine{item: "Table", itemRel: item, account: "GroupId",
			accountRel: customerDiscountGroups[rng.IntN(len(customerDiscountGroups))], currency: c.currency, unit: unit,
			amount: dec(max(1, priceCents/50), 2), findNext: findNext()}, stamp); err != nil {
			return err
		}
	}
	return nil
}

// unitConversions writes the product-specific unit conversions of shared product number, once
// for every company that releases it (they belong to the product, not to a company): every third
// product comes in boxes, every ninth also on pallets of 40 boxes, to its sales unit. They are
// derived from the product's position, not drawn, so that the rest of the data set stays as it
// was before conversions existed.
func (g *gen) unitConversions(number string, i int, unit string, stamp time.Time) error {
	if i%3 != 0 {
		return nil
	}
	box := []int64{6, 10, 12, 24}[(i/3)%4]
	conv := func(from string, factor int64) error {
		return g.insert(store.ProductUnitOfMeasureConversions, from, unit, number, dec(factor, 0), int64(1), int64(1),
			dec(0, 0), dec(0, 0), "Nearest", stamp)
	}
	if err := conv("box", box); err != nil {
		return err
	}
	if i%9 == 0 {
		return conv("pallet", 40*box)
	}
	return nil
}
