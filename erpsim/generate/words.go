package generate

// Vocabulary for product and customer names, with translations. Index 0 is English; the
// others follow langIndex.

// langIndex maps a language id to its column in the word tables; unknown languages fall back
// to English.
var langIndex = map[string]int{"en-us": 0, "en-gb": 0, "en": 0, "de": 1, "nl": 2, "fr": 3}

func lang(id string) int { return langIndex[id] }

type noun struct {
	words  [4]string // en, de, nl, fr
	gender byte      // German gender: m, f, n
	top    int       // index into topCategories
}

var nouns = []noun{
	{[4]string{"Chair", "Stuhl", "Stoel", "Chaise"}, 'm', 0},
	{[4]string{"Desk", "Schreibtisch", "Bureau", "Bureau"}, 'm', 0},
	{[4]string{"Table", "Tisch", "Tafel", "Table"}, 'm', 0},
	{[4]string{"Lamp", "Lampe", "Lamp", "Lampe"}, 'f', 0},
	{[4]string{"Bookcase", "Bücherregal", "Boekenkast", "Bibliothèque"}, 'n', 0},
	{[4]string{"Speaker", "Lautsprecher", "Luidspreker", "Enceinte"}, 'm', 1},
	{[4]string{"Headphones", "Kopfhörer", "Koptelefoon", "Casque"}, 'm', 1},
	{[4]string{"Monitor", "Monitor", "Monitor", "Écran"}, 'm', 1},
	{[4]string{"Keyboard", "Tastatur", "Toetsenbord", "Clavier"}, 'f', 1},
	{[4]string{"Mouse", "Maus", "Muis", "Souris"}, 'f', 1},
	{[4]string{"Cable", "Kabel", "Kabel", "Câble"}, 'n', 1},
	{[4]string{"Tent", "Zelt", "Tent", "Tente"}, 'n', 2},
	{[4]string{"Backpack", "Rucksack", "Rugzak", "Sac à dos"}, 'm', 2},
	{[4]string{"Sleeping Bag", "Schlafsack", "Slaapzak", "Sac de couchage"}, 'm', 2},
	{[4]string{"Bottle", "Flasche", "Fles", "Bouteille"}, 'f', 2},
	{[4]string{"Kettle", "Wasserkocher", "Waterkoker", "Bouilloire"}, 'm', 3},
	{[4]string{"Coffee Maker", "Kaffeemaschine", "Koffiezetapparaat", "Cafetière"}, 'f', 3},
	{[4]string{"Frying Pan", "Bratpfanne", "Koekenpan", "Poêle"}, 'f', 3},
	{[4]string{"Knife Set", "Messerset", "Messenset", "Set de couteaux"}, 'n', 3},
	{[4]string{"Drill", "Bohrmaschine", "Boormachine", "Perceuse"}, 'f', 4},
	{[4]string{"Screwdriver", "Schraubendreher", "Schroevendraaier", "Tournevis"}, 'm', 4},
	{[4]string{"Saw", "Säge", "Zaag", "Scie"}, 'f', 4},
	{[4]string{"Jacket", "Jacke", "Jas", "Veste"}, 'f', 5},
	{[4]string{"T-Shirt", "T-Shirt", "T-shirt", "T-shirt"}, 'n', 5},
	{[4]string{"Shoes", "Schuhe", "Schoenen", "Chaussures"}, 'p', 5},
	{[4]string{"Trousers", "Hose", "Broek", "Pantalon"}, 'f', 5},
	{[4]string{"Notebook", "Notizbuch", "Notitieboek", "Carnet"}, 'n', 6},
	{[4]string{"Stapler", "Hefter", "Nietmachine", "Agrafeuse"}, 'm', 6},
	{[4]string{"Bicycle", "Fahrrad", "Fiets", "Vélo"}, 'n', 7},
	{[4]string{"Football", "Fußball", "Voetbal", "Ballon de football"}, 'm', 7},
	{[4]string{"Yoga Mat", "Yogamatte", "Yogamat", "Tapis de yoga"}, 'f', 7},
}

// adjectives: en, German stem (declined by gender), nl, fr.
var adjectives = [][4]string{
	{"Ergonomic", "ergonomisch", "Ergonomische", "ergonomique"},
	{"Wireless", "kabellos", "Draadloze", "sans fil"},
	{"Compact", "kompakt", "Compacte", "compact"},
	{"Classic", "klassisch", "Klassieke", "classique"},
	{"Heavy-Duty", "robust", "Robuuste", "robuste"},
	{"Portable", "tragbar", "Draagbare", "portable"},
	{"Smart", "intelligent", "Slimme", "intelligent"},
	{"Professional", "professionell", "Professionele", "professionnel"},
	{"Lightweight", "leicht", "Lichtgewicht", "léger"},
	{"Waterproof", "wasserdicht", "Waterdichte", "étanche"},
}

var brands = []string{"Contoso", "Fabrikam", "Litware", "Proseware", "Adatum", "Northwind", "Tailspin", "Wingtip", "Alpine Ski House", "Coho"}

var topCategories = [][4]string{
	{"Furniture", "Möbel", "Meubels", "Meubles"},
	{"Electronics", "Elektronik", "Elektronica", "Électronique"},
	{"Outdoor", "Outdoor", "Buitensport", "Plein air"},
	{"Kitchen", "Küche", "Keuken", "Cuisine"},
	{"Tools", "Werkzeuge", "Gereedschap", "Outils"},
	{"Clothing", "Bekleidung", "Kleding", "Vêtements"},
	{"Office", "Büro", "Kantoor", "Bureau"},
	{"Sports", "Sport", "Sport", "Sport"},
}

var colors = []struct{ id, name string }{
	{"Black", "Black"}, {"White", "White"}, {"Red", "Red"}, {"Blue", "Blue"}, {"Green", "Green"}, {"Grey", "Grey"},
}

var sizes = []string{"XS", "S", "M", "L", "XL", "XXL"}

var firstNames = [][]string{
	{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Sarah", "Emily", "Daniel"},
	{"Lukas", "Anna", "Jonas", "Lena", "Felix", "Marie", "Paul", "Sophie", "Maximilian", "Laura", "Jan", "Katrin"},
	{"Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Bram", "Sanne", "Thijs", "Fleur", "Ruben", "Iris"},
	{"Louis", "Camille", "Gabriel", "Léa", "Hugo", "Manon", "Jules", "Chloé", "Arthur", "Inès", "Lucas", "Zoé"},
}

var lastNames = [][]string{
	{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Moore", "Clark"},
	{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter"},
	{"de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos", "Vos"},
	{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent"},
}

var industries = [][]string{
	{"Supplies", "Logistics", "Trading", "Retail", "Outfitters", "Industries", "Wholesale", "Interiors"},
	{"Handel", "Logistik", "Versand", "Einrichtungen", "Technik", "Großhandel", "Bürobedarf", "Sport"},
	{"Handel", "Logistiek", "Groothandel", "Interieur", "Techniek", "Kantoorartikelen", "Sport", "Retail"},
	{"Commerce", "Logistique", "Distribution", "Équipements", "Fournitures", "Industries", "Intérieurs", "Sport"},
}

var legalForms = [][]string{
	{"Inc.", "LLC", "Corp.", "Ltd."},
	{"GmbH", "AG", "KG", "GmbH & Co. KG"},
	{"B.V.", "N.V.", "V.O.F.", "B.V."},
	{"SARL", "SA", "SAS", "EURL"},
}

var cities = [][]struct{ city, state, zip string }{
	{{"Seattle", "WA", "98052"}, {"Chicago", "IL", "60601"}, {"Austin", "TX", "73301"}, {"Denver", "CO", "80202"}, {"Boston", "MA", "02108"}},
	{{"München", "BY", "80331"}, {"Berlin", "BE", "10115"}, {"Hamburg", "HH", "20095"}, {"Köln", "NW", "50667"}, {"Frankfurt am Main", "HE", "60311"}},
	{{"Amsterdam", "NH", "1012"}, {"Rotterdam", "ZH", "3011"}, {"Utrecht", "UT", "3511"}, {"Eindhoven", "NB", "5611"}, {"Groningen", "GR", "9711"}},
	{{"Paris", "IDF", "75001"}, {"Lyon", "ARA", "69001"}, {"Marseille", "PAC", "13001"}, {"Toulouse", "OCC", "31000"}, {"Lille", "HDF", "59000"}},
}

var streets = [][]string{
	{"Main Street", "Oak Avenue", "Maple Drive", "Park Road", "Lake Street"},
	{"Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Schillerstraße"},
	{"Dorpsstraat", "Kerkstraat", "Stationsweg", "Molenweg", "Schoolstraat"},
	{"Rue de la Paix", "Avenue Victor Hugo", "Rue du Moulin", "Boulevard Voltaire", "Rue des Lilas"},
}

var jobTitles = []string{"Purchaser", "Purchasing Manager", "CEO", "Office Manager", "Buyer", "Accountant", "Store Manager"}

// germanAdjective declines a German adjective stem for a noun without article.
func germanAdjective(stem string, gender byte) string {
	ending := map[byte]string{'m': "er", 'f': "e", 'n': "es", 'p': "e"}[gender]
	return upperFirst(stem) + ending
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	if r[0] >= 'a' && r[0] <= 'z' {
		r[0] -= 'a' - 'A'
	}
	return string(r)
}
