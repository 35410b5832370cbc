package store

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustWrite(t testing.TB, s *Store, fn func(tx *Tx) error) time.Time {
	t.Helper()
	stamp, err := s.Write(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	return stamp
}

// fixture is a small ERP: products P1, P2 in usmf and P3 in demf; a category holding P1 and P2;
// customers; three sales reps in three groups.
func fixture(t testing.TB) *Store {
	s := openTest(t)
	create := func(tx *Tx, table string, r Record) {
		t.Helper()
		if _, err := tx.Create(table, r); err != nil {
			t.Fatalf("create %s %v: %v", table, r, err)
		}
	}
	mustWrite(t, s, func(tx *Tx) error {
		for _, p := range []struct{ co, item string }{{"usmf", "P1"}, {"usmf", "P2"}, {"demf", "P3"}} {
			create(tx, ReleasedProducts, Record{FieldCompany: p.co, "ItemNumber": p.item, "ProductName": "Product " + p.item,
				"ProductSubType": "ProductMaster", "SalesPrice": json.Number("10.00")})
			create(tx, ProductTranslations, Record{FieldCompany: p.co, "ItemNumber": p.item, "LanguageId": "de", "ProductName": "Produkt"})
			create(tx, ProductAttachments, Record{FieldCompany: p.co, "ItemNumber": p.item, "AttachmentId": "IMG1", "DocumentType": "Image"})
			create(tx, ItemDefaultOrderSettings, Record{FieldCompany: p.co, "ItemNumber": p.item, "SalesMinimumQuantity": json.Number("1")})
			create(tx, ProductBarcodes, Record{FieldCompany: p.co, "Barcode": "B-" + p.item, "ItemNumber": p.item, "BarcodeSetupId": "EAN13"})
			create(tx, ReleasedProductVariants, Record{FieldCompany: p.co, "ItemNumber": p.item, "ProductColorId": "Red", "ProductVariantNumber": p.item + "-R"})
			create(tx, ProductMasterDimensionValues, Record{FieldCompany: p.co, "ProductMasterNumber": p.item, "ProductDimension": "Color", "DimensionValueId": "Red"})
			create(tx, SalesPriceAgreements, Record{FieldCompany: p.co, "ItemCode": "Table", "ItemNumber": p.item, "AccountCode": "All", "Price": json.Number("9.50")})
			create(tx, SalesLineDiscountAgreements, Record{FieldCompany: p.co, "ItemCode": "Table", "ItemNumber": p.item, "AccountCode": "All",
				"DiscountPercentage1": json.Number("5")})
		}
		// P1 and P3 are in item discount group FURN, P2 in ELEC; group and all-items discounts.
		for item, group := range map[[2]string]string{{"usmf", "P1"}: "FURN", {"usmf", "P2"}: "ELEC", {"demf", "P3"}: "FURN"} {
			if _, err := tx.Update(ReleasedProducts, Record{FieldCompany: item[0], "ItemNumber": item[1]}, Record{"SalesLineDiscountProductGroupCode": group}); err != nil {
				t.Fatal(err)
			}
		}
		create(tx, SalesLineDiscountAgreements, Record{"ItemCode": "GroupId", "LineDiscountProductGroupCode": "FURN", "AccountCode": "GroupId",
			"LineDiscountCustomerGroupCode": "Reseller", "DiscountPercentage1": json.Number("4")})
		create(tx, SalesLineDiscountAgreements, Record{"ItemCode": "All", "AccountCode": "All", "DiscountPercentage1": json.Number("1"),
			"FromQuantity": json.Number("100")})
		create(tx, PriceParameters, Record{FieldCompany: "usmf", "SalesPriceAllItem": "Yes"})
		create(tx, ProductCategories, Record{"CategoryId": "C1", "CategoryName": "Chairs", "IsVisibleInWebshop": "Yes"})
		create(tx, ProductCategories, Record{"CategoryId": "C2", "CategoryName": "Desks", "IsVisibleInWebshop": "Yes"})
		create(tx, ProductCategoryAssignments, Record{"ItemNumber": "P1", "CategoryId": "C1"})
		create(tx, ProductCategoryAssignments, Record{"ItemNumber": "P2", "CategoryId": "C1"})
		create(tx, RelatedProducts, Record{"ItemNumber": "P1", "RelatedItemNumber": "P2", "RelationType": "Similar"})
		for _, g := range []string{"G1", "G2", "G3"} {
			create(tx, CommissionSalesGroups, Record{"GroupId": g, "Name": "Group " + g})
		}
		for i, r := range []string{"R1", "R2", "R3"} {
			create(tx, SalesRepresentatives, Record{"PersonnelNumber": r, "Name": "Rep " + r})
			create(tx, CommissionSalesRepresentatives, Record{"GroupId": []string{"G1", "G2", "G3"}[i], "PersonnelNumber": r, "CommissionShare": json.Number("100")})
		}
		create(tx, Customers, Record{"CustomerAccount": "C-1", "OrganizationName": "Acme", "CommissionSalesGroupId": "G1"})
		create(tx, Customers, Record{"CustomerAccount": "C-2", "OrganizationName": "Globex", "CommissionSalesGroupId": "G3"})
		create(tx, CustomerPostalAddresses, Record{"CustomerAccount": "C-1", "AddressLocationId": "A1", "AddressCity": "Seattle"})
		create(tx, ContactPersons, Record{"ContactPersonId": "CP1", "CustomerAccount": "C-1", "FirstName": "Ann"})
		create(tx, ContactPersons, Record{"ContactPersonId": "CP2", "CustomerAccount": "C-2", "FirstName": "Bob"})
		return nil
	})
	return s
}

// rootStamps returns "Collection/company/key" -> ModifiedDateTime of every root record.
func rootStamps(t testing.TB, s *Store) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for _, tb := range s.Schema().Tables {
		// The roots that bump rules stamp (the seed's roots); categories, line discounts and the
		// activation are roots too, but only their own edits stamp them.
		if !tb.Root || !slices.Contains([]string{ReleasedProducts, Customers, ContactPersons, SalesRepresentatives}, tb.Name) {
			continue
		}
		page, err := s.Query(context.Background(), Query{Table: tb.Name, Top: -1, PageSize: 10000})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range page.Rows {
			r := Record{}
			for i, f := range page.Fields {
				r[f.Name] = row[i]
			}
			out[tb.Name+"/"+r[FieldCompany].(string)+"/"+FormatKey(tb, r, false)] = r[FieldModified].(time.Time)
		}
	}
	return out
}

func TestBumpRules(t *testing.T) {
	p := func(co, item string) string { return ReleasedProducts + "/" + co + "/ItemNumber='" + item + "'" }
	cust := func(a string) string { return Customers + "/usmf/CustomerAccount='" + a + "'" }
	rep := func(r string) string { return SalesRepresentatives + "/usmf/PersonnelNumber='" + r + "'" }
	contact := func(c string) string { return ContactPersons + "/usmf/ContactPersonId='" + c + "'" }

	tests := []struct {
		name   string
		change func(tx *Tx) error
		bumped []string
	}{
		{"product edit", func(tx *Tx) error {
			_, err := tx.Update(ReleasedProducts, Record{FieldCompany: "usmf", "ItemNumber": "P1"}, Record{"ProductName": "New"})
			return err
		}, []string{p("usmf", "P1")}},
		{"product variant (dimension value) create", func(tx *Tx) error {
			_, err := tx.Create(ProductMasterDimensionValues, Record{"ProductMasterNumber": "P1", "ProductDimension": "Size", "DimensionValueId": "XL"})
			return err
		}, []string{p("usmf", "P1")}},
		{"product variant combination edit", func(tx *Tx) error {
			_, err := tx.Update(ReleasedProductVariants, Record{FieldCompany: "usmf", "ItemNumber": "P2", "ProductColorId": "Red",
				"ProductConfigurationId": "", "ProductSizeId": "", "ProductStyleId": ""}, Record{"ProductName": "Red one"})
			return err
		}, []string{p("usmf", "P2")}},
		{"product attachment delete", func(tx *Tx) error {
			return tx.Delete(ProductAttachments, Record{FieldCompany: "usmf", "ItemNumber": "P1", "AttachmentId": "IMG1"})
		}, []string{p("usmf", "P1")}},
		{"product category visibility flip", func(tx *Tx) error {
			_, err := tx.Update(ProductCategories, Record{FieldCompany: "usmf", "CategoryId": "C1"}, Record{"IsVisibleInWebshop": "No"})
			return err
		}, []string{p("usmf", "P1"), p("usmf", "P2")}},
		{"empty category edit", func(tx *Tx) error {
			_, err := tx.Update(ProductCategories, Record{FieldCompany: "usmf", "CategoryId": "C2"}, Record{"CategoryName": "Tables"})
			return err
		}, nil},
		{"category assignment create", func(tx *Tx) error {
			_, err := tx.Create(ProductCategoryAssignments, Record{"ItemNumber": "P2", "CategoryId": "C2"})
			return err
		}, []string{p("usmf", "P2")}},
		{"related product create bumps the product showing it", func(tx *Tx) error {
			_, err := tx.Create(RelatedProducts, Record{"ItemNumber": "P2", "RelatedItemNumber": "P1", "RelationType": "Accessory"})
			return err
		}, []string{p("usmf", "P2")}},
		{"product translation edit", func(tx *Tx) error {
			_, err := tx.Update(ProductTranslations, Record{FieldCompany: "demf", "ItemNumber": "P3", "LanguageId": "de"}, Record{"ProductDescription": "Neu"})
			return err
		}, []string{p("demf", "P3")}},
		{"product translation create", func(tx *Tx) error {
			_, err := tx.Create(ProductTranslations, Record{"ItemNumber": "P1", "LanguageId": "nl", "ProductName": "Stoel"})
			return err
		}, []string{p("usmf", "P1")}},
		{"bar code moved to another item bumps both", func(tx *Tx) error {
			_, err := tx.Update(ProductBarcodes, Record{FieldCompany: "usmf", "Barcode": "B-P1"}, Record{"ItemNumber": "P2"})
			return err
		}, []string{p("usmf", "P1"), p("usmf", "P2")}},
		{"default order settings: sales stopped", func(tx *Tx) error {
			_, err := tx.Update(ItemDefaultOrderSettings, Record{FieldCompany: "usmf", "ItemNumber": "P1"}, Record{"IsSalesStopped": "Yes"})
			return err
		}, []string{p("usmf", "P1")}},
		{"trade agreement for one item", func(tx *Tx) error {
			_, err := tx.Update(SalesPriceAgreements, Record{FieldCompany: "usmf", "RecordId": int64(1)}, Record{"Price": json.Number("8.75")})
			return err
		}, []string{p("usmf", "P1")}},
		{"line discount for one item", func(tx *Tx) error {
			_, err := tx.Update(SalesLineDiscountAgreements, Record{FieldCompany: "demf", "RecordId": int64(3)}, Record{"DiscountPercentage1": json.Number("6")})
			return err
		}, []string{p("demf", "P3")}},
		{"line discount for an item discount group bumps the group's products of the company", func(tx *Tx) error {
			_, err := tx.Update(SalesLineDiscountAgreements, Record{FieldCompany: "usmf", "RecordId": int64(4)}, Record{"DiscountPercentage1": json.Number("4.5")})
			return err
		}, []string{p("usmf", "P1")}},
		{"line discount moved to another item discount group bumps both groups", func(tx *Tx) error {
			_, err := tx.Update(SalesLineDiscountAgreements, Record{FieldCompany: "usmf", "RecordId": int64(4)}, Record{"LineDiscountProductGroupCode": "ELEC"})
			return err
		}, []string{p("usmf", "P1"), p("usmf", "P2")}},
		{"line discount for all items bumps the company's products", func(tx *Tx) error {
			return tx.Delete(SalesLineDiscountAgreements, Record{FieldCompany: "usmf", "RecordId": int64(5)})
		}, []string{p("usmf", "P1"), p("usmf", "P2")}},
		{"line discount for all items created", func(tx *Tx) error {
			_, err := tx.Create(SalesLineDiscountAgreements, Record{FieldCompany: "demf", "ItemCode": "All", "AccountCode": "Table",
				"CustomerAccountNumber": "C-9", "DiscountAmount": json.Number("0.5")})
			return err
		}, []string{p("demf", "P3")}},
		{"an item's discount group change bumps only the item", func(tx *Tx) error {
			_, err := tx.Update(ReleasedProducts, Record{FieldCompany: "usmf", "ItemNumber": "P2"}, Record{"SalesLineDiscountProductGroupCode": "FURN"})
			return err
		}, []string{p("usmf", "P2")}},
		{"the trade agreement activation bumps nothing (read by its own stamp)", func(tx *Tx) error {
			_, err := tx.Update(PriceParameters, Record{FieldCompany: "usmf", "Key": int64(0)}, Record{"SalesLineAllAll": "Yes"})
			return err
		}, nil},
		{"customer name change", func(tx *Tx) error {
			_, err := tx.Update(Customers, Record{FieldCompany: "usmf", "CustomerAccount": "C-1"}, Record{"OrganizationName": "Acme Corp"})
			return err
		}, []string{cust("C-1")}},
		{"customer sales group change bumps reps of old and new group", func(tx *Tx) error {
			_, err := tx.Update(Customers, Record{FieldCompany: "usmf", "CustomerAccount": "C-1"}, Record{"CommissionSalesGroupId": "G2"})
			return err
		}, []string{cust("C-1"), rep("R1"), rep("R2")}},
		{"customer address change", func(tx *Tx) error {
			_, err := tx.Update(CustomerPostalAddresses, Record{FieldCompany: "usmf", "CustomerAccount": "C-1", "AddressLocationId": "A1"}, Record{"AddressCity": "Redmond"})
			return err
		}, []string{cust("C-1")}},
		{"customer address create", func(tx *Tx) error {
			_, err := tx.Create(CustomerPostalAddresses, Record{"CustomerAccount": "C-2", "AddressLocationId": "A9"})
			return err
		}, []string{cust("C-2")}},
		{"contact edit", func(tx *Tx) error {
			_, err := tx.Update(ContactPersons, Record{FieldCompany: "usmf", "ContactPersonId": "CP2"}, Record{"LastName": "Smith"})
			return err
		}, []string{contact("CP2")}},
		{"sales representative edit", func(tx *Tx) error {
			_, err := tx.Update(SalesRepresentatives, Record{FieldCompany: "usmf", "PersonnelNumber": "R3"}, Record{"Name": "Renamed"})
			return err
		}, []string{rep("R3")}},
		{"commission group edit bumps its reps", func(tx *Tx) error {
			_, err := tx.Update(CommissionSalesGroups, Record{FieldCompany: "usmf", "GroupId": "G3"}, Record{"Name": "North"})
			return err
		}, []string{rep("R3")}},
		{"group membership create bumps the rep", func(tx *Tx) error {
			_, err := tx.Create(CommissionSalesRepresentatives, Record{"GroupId": "G1", "PersonnelNumber": "R2", "CommissionShare": json.Number("12.5")})
			return err
		}, []string{rep("R2")}},
		{"group membership delete bumps the rep", func(tx *Tx) error {
			return tx.Delete(CommissionSalesRepresentatives, Record{FieldCompany: "usmf", "GroupId": "G1", "PersonnelNumber": "R1"})
		}, []string{rep("R1")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fixture(t)
			before := rootStamps(t, s)
			stamp := mustWrite(t, s, tc.change)
			after := rootStamps(t, s)
			var got []string
			for k, v := range after {
				if b, ok := before[k]; ok && !v.Equal(b) {
					if !v.Equal(stamp) {
						t.Errorf("%s moved to %v, want the change's stamp %v", k, v, stamp)
					}
					got = append(got, k)
				}
			}
			slices.Sort(got)
			want := slices.Clone(tc.bumped)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("bumped %q, want %q", got, want)
			}
		})
	}
}

func TestDeleteRootWritesDeletedRecordsAndCascades(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	before := rootStamps(t, s)
	stamp := mustWrite(t, s, func(tx *Tx) error {
		return tx.Delete(ReleasedProducts, Record{FieldCompany: "usmf", "ItemNumber": "P2"})
	})
	after := rootStamps(t, s)
	if _, ok := after[ReleasedProducts+"/usmf/ItemNumber='P2'"]; ok {
		t.Fatal("P2 still there")
	}
	// P1 shows P2 as related: the relation goes, and P1 is bumped.
	if k := ReleasedProducts + "/usmf/ItemNumber='P1'"; !after[k].Equal(stamp) || after[k].Equal(before[k]) {
		t.Errorf("P1 not bumped by the removal of its relation to P2")
	}
	for _, table := range []string{ProductTranslations, ProductBarcodes, ItemDefaultOrderSettings, ReleasedProductVariants,
		ProductMasterDimensionValues, SalesPriceAgreements, SalesLineDiscountAgreements, ProductCategoryAssignments, RelatedProducts, ProductAttachments} {
		tb, _ := s.Schema().Table(table)
		field := "ItemNumber"
		if _, ok := tb.Field(field); !ok {
			field = "ProductMasterNumber"
		}
		var n int
		q := "SELECT COUNT(*) FROM " + quote(table) + " WHERE " + quote(field) + " = 'P2' AND dataAreaId = 'usmf'"
		if table == RelatedProducts {
			q += " OR RelatedItemNumber = 'P2'"
		}
		if err := s.db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d records of P2 left", table, n)
		}
	}
	// The product's row, and one for its own line discount (line discounts are roots too).
	page, err := s.Query(ctx, Query{Table: DeletedRecords, Top: -1, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var rows []Record
	for _, row := range page.Rows {
		r := Record{}
		for i, f := range page.Fields {
			r[f.Name] = row[i]
		}
		rows = append(rows, r)
	}
	if len(rows) != 2 || rows[0]["EntityName"] != SalesLineDiscountAgreements {
		t.Fatalf("DeletedRecords %v, want the product's line discount and the product", rows)
	}
	r := rows[1]
	want := Record{FieldCompany: "usmf", "RecId": int64(2), "EntityName": ReleasedProducts, "RecordKey": "ItemNumber='P2'",
		"DeletedDateTime": stamp, FieldModified: stamp}
	if !maps.EqualFunc(r, want, func(a, b any) bool { return a == b }) {
		t.Errorf("DeletedRecords row %v, want %v", r, want)
	}
}

func TestCustomerDeleteCascadesToContacts(t *testing.T) {
	s := fixture(t)
	mustWrite(t, s, func(tx *Tx) error {
		return tx.Delete(Customers, Record{FieldCompany: "usmf", "CustomerAccount": "C-1"})
	})
	page, err := s.Query(context.Background(), Query{Table: DeletedRecords, Top: -1, PageSize: 100, Select: []string{"EntityName", "RecordKey"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, row := range page.Rows {
		got = append(got, row[0].(string)+" "+row[1].(string))
	}
	want := []string{ContactPersons + " ContactPersonId='CP1'", Customers + " CustomerAccount='C-1'"}
	if !slices.Equal(got, want) {
		t.Errorf("deleted %q, want %q", got, want)
	}
}

func TestStampsStrictlyIncreaseAndLateCommitsKeepTheirStamp(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	p1 := Record{FieldCompany: "usmf", "ItemNumber": "P1"}
	p2 := Record{FieldCompany: "usmf", "ItemNumber": "P2"}
	lateStamp := make(chan time.Time, 1)
	done := make(chan error, 1)
	go func() {
		stamp, err := s.WriteLate(ctx, 300*time.Millisecond, func(tx *Tx) error {
			lateStamp <- tx.Stamp()
			_, err := tx.Update(ReleasedProducts, p1, Record{"ProductName": "late"})
			return err
		})
		_ = stamp
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	stamp2 := mustWrite(t, s, func(tx *Tx) error {
		_, err := tx.Update(ReleasedProducts, p2, Record{"ProductName": "early"})
		return err
	})
	r1, _ := s.Get(ctx, ReleasedProducts, p1)
	if r1["ProductName"] == "late" {
		t.Fatal("the late change is visible before its commit")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t1 := <-lateStamp
	if !t1.Before(stamp2) {
		t.Fatalf("late stamp %v not before the later write's %v", t1, stamp2)
	}
	r1, _ = s.Get(ctx, ReleasedProducts, p1)
	if r1["ProductName"] != "late" || !r1[FieldModified].(time.Time).Equal(t1) {
		t.Errorf("after the late commit P1 = %v at %v, want late at %v", r1["ProductName"], r1[FieldModified], t1)
	}
}

func TestClockSkewAndMonotonic(t *testing.T) {
	c := NewClock()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	a := c.Next()
	b := c.Next()
	if !b.After(a) || b.Sub(a) != time.Microsecond {
		t.Errorf("same wall clock: %v then %v, want +1µs", a, b)
	}
	c.SetSkew(time.Hour)
	if got := c.Next(); !got.Equal(now.Add(time.Hour)) {
		t.Errorf("skewed stamp %v, want %v", got, now.Add(time.Hour))
	}
	c.SetSkew(-time.Hour)
	if got := c.Next(); !got.After(now.Add(time.Hour)) {
		t.Errorf("stamp went back to %v after the skew was reduced", got)
	}
}

func TestDecimalsExact(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
		bad  bool
	}{
		{json.Number("12.50"), "12.50", false},
		{json.Number("0.125"), "0.125", false},
		{"-3.000001", "-3.000001", false},
		{json.Number("1.5e1"), "15", false},
		{json.Number("1e-3"), "0.001", false},
		{json.Number("0.1234567"), "", true},
		{"abc", "", true},
		{true, "", true},
	} {
		got, err := ParseDecimal(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseDecimal(%v) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("ParseDecimal(%v) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	s := openTest(t)
	mustWrite(t, s, func(tx *Tx) error {
		_, err := tx.Create(ReleasedProducts, Record{"ItemNumber": "X", "SalesPrice": json.Number("123456789.123456")})
		return err
	})
	r, err := s.Get(context.Background(), ReleasedProducts, Record{FieldCompany: "usmf", "ItemNumber": "X"})
	if err != nil {
		t.Fatal(err)
	}
	if r["SalesPrice"] != json.Number("123456789.123456") {
		t.Errorf("SalesPrice read back as %v", r["SalesPrice"])
	}
}

// TestSharedRowsBelongToEveryCompany: a product-specific unit conversion belongs to the shared
// product, not to a company (D365 keeps it on EcoResProduct): it has no dataAreaId, a request
// without cross-company sees it, its change bumps every company's release of the product (the
// released products whose ProductNumber is the row's), and deleting one release keeps it.
func TestSharedRowsBelongToEveryCompany(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	mustWrite(t, s, func(tx *Tx) error {
		// demf releases P1 too (ProductNumber defaults to the item number); usmf's X1 releases
		// product P3 under another item number.
		if _, err := tx.Create(ReleasedProducts, Record{FieldCompany: "demf", "ItemNumber": "P1"}); err != nil {
			return err
		}
		_, err := tx.Create(ReleasedProducts, Record{FieldCompany: "usmf", "ItemNumber": "X1", "ProductNumber": "P3"})
		return err
	})
	p := func(co, item string) string { return ReleasedProducts + "/" + co + "/ItemNumber='" + item + "'" }
	bumped := func(change func(tx *Tx) error) []string {
		t.Helper()
		before := rootStamps(t, s)
		stamp := mustWrite(t, s, change)
		var got []string
		for k, v := range rootStamps(t, s) {
			if b, ok := before[k]; ok && !v.Equal(b) && v.Equal(stamp) {
				got = append(got, k)
			}
		}
		slices.Sort(got)
		return got
	}
	key := Record{"FromUnitSymbol": "box", "ToUnitSymbol": "ea", "ProductNumber": "P1"}
	got := bumped(func(tx *Tx) error {
		_, err := tx.Create(ProductUnitOfMeasureConversions, Record{"FromUnitSymbol": "box", "ToUnitSymbol": "ea", "ProductNumber": "P1", "Factor": json.Number("12")})
		return err
	})
	if want := []string{p("demf", "P1"), p("usmf", "P1")}; !slices.Equal(got, want) {
		t.Errorf("creating P1's conversion bumped %q, want %q", got, want)
	}
	got = bumped(func(tx *Tx) error {
		_, err := tx.Create(ProductUnitOfMeasureConversions, Record{"FromUnitSymbol": "box", "ToUnitSymbol": "ea", "ProductNumber": "P3"})
		return err
	})
	if want := []string{p("demf", "P3"), p("usmf", "X1")}; !slices.Equal(got, want) {
		t.Errorf("creating P3's conversion bumped %q, want %q", got, want)
	}
	r, err := s.Get(ctx, ProductUnitOfMeasureConversions, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r[FieldCompany]; ok || r["Numerator"] != int64(1) || r["Denominator"] != int64(1) || r["Rounding"] != "Nearest" {
		t.Errorf("conversion as stored: %v; want no company, numerator and denominator 1, rounding Nearest", r)
	}
	page, err := s.Query(ctx, Query{Table: ProductUnitOfMeasureConversions, Company: DefaultCompany, Top: -1, PageSize: 10})
	if err != nil || len(page.Rows) != 2 {
		t.Fatalf("conversions seen without cross-company: %v, %v; want both", page, err)
	}
	if got := bumped(func(tx *Tx) error {
		return tx.Delete(ReleasedProducts, Record{FieldCompany: "usmf", "ItemNumber": "P1"})
	}); len(got) != 0 {
		t.Errorf("deleting usmf's P1 bumped %q", got)
	}
	if _, err := s.Get(ctx, ProductUnitOfMeasureConversions, key); err != nil {
		t.Errorf("after deleting one release of P1, its conversion: %v", err)
	}
	got = bumped(func(tx *Tx) error { return tx.Delete(ProductUnitOfMeasureConversions, key) })
	if want := []string{p("demf", "P1")}; !slices.Equal(got, want) {
		t.Errorf("deleting P1's conversion bumped %q, want %q", got, want)
	}
}
