package e2e

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/workflows"
)

var recordHistory = flag.Bool("record-history", false, "write the histories of a partitioned rebuild, an update run and a customer rebuild to workflows/testdata for the replay test")

// TestRebuildEqualsTheERP: a rebuild of a seeded catalog leaves the index equal to the ERP,
// field by field; an update run right after finds nothing new to write.
func TestRebuildEqualsTheERP(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(11), erpsim.Config{}, activities.Settings{PageSize: 50, ChunkPages: 3, PartitionSize: 50, Partitions: 2})
	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild})
	res := s.wait(run)
	if *recordHistory {
		// The version whose partitions begun after the first chunk read full pages at once
		// (steady); product_import_rebuild_beside.json (the company-wide data beside the
		// products, in a child workflow) and product_import_rebuild_partitioned.json are
		// earlier versions', kept: they must replay too.
		s.saveHistory(run.GetID(), "../workflows/testdata/product_import_rebuild_steady.json")
		s.saveHistory(run.GetID()+"-company-wide", "../workflows/testdata/product_import_rebuild_company_wide.json")
	}
	c := res.Of(erp.Products).Counts
	t.Logf("rebuild: %+v", c)
	if c.Read == 0 || c.Read != c.Indexed || c.Rejected != 0 || c.DeadLettered != 0 {
		t.Fatalf("rebuild counts %+v: want every record read indexed, nothing rejected", c)
	}
	s.checkProducts()

	updRun := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Update})
	upd := s.wait(updRun).Of(erp.Products).Counts
	if *recordHistory {
		// The history of the workflow version that imports the company-wide data first
		// (product_import_update.json is an earlier version's, kept: it must replay too).
		s.saveHistory(updRun.GetID(), "../workflows/testdata/product_import_update_normalised.json")
	}
	if upd.Indexed != 0 {
		t.Fatalf("an update with nothing changed wrote %d documents", upd.Indexed)
	}
	t.Logf("update with nothing changed: %d ERP requests", upd.Requests)
}

// TestCustomerRebuildEqualsTheERP: customers, contacts and sales representatives, field by field.
func TestCustomerRebuildEqualsTheERP(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(12), erpsim.Config{}, activities.Settings{PageSize: 20, ChunkPages: 2})
	run := s.start(workflows.CustomerImportName, workflows.ImportInput{Mode: activities.Rebuild})
	res := s.wait(run)
	if *recordHistory {
		s.saveHistory(run.GetID(), "../workflows/testdata/customer_import_rebuild.json")
	}
	for _, r := range res.Entities {
		if r.Counts.Read == 0 || r.Counts.Read != r.Counts.Indexed {
			t.Fatalf("%s: %+v", r.Entity, r.Counts)
		}
	}
	s.checkCustomers()
}

// TestUpdateWithNothingChanged: after a rebuild, an update run with nothing changed writes
// nothing, in both change detection modes; with stock D365 (child-stamps) it costs one ERP
// request per collection of the model, whatever the catalog size.
func TestUpdateWithNothingChanged(t *testing.T) {
	t.Parallel()
	inEachMode(t, func(t *testing.T, mode activities.Detection, behaviour store.Behaviour) {
		// An overlap of 1 ms: the catalog generated a moment ago is not re-read.
		s := newStack(t, simtest.Catalog(14), erpsim.Config{Behaviour: behaviour},
			activities.Settings{PageSize: 50, SafetyLag: time.Second, Overlap: time.Millisecond, Detection: mode})
		s.run(workflows.ProductImportName, activities.Rebuild)
		s.run(workflows.CustomerImportName, activities.Rebuild)
		s.pastSafetyLag()
		for _, wf := range []string{workflows.ProductImportName, workflows.CustomerImportName} {
			for _, r := range s.run(wf, activities.Update).Entities {
				t.Logf("%s: %+v", r.Entity, r.Counts)
				if r.Counts.Indexed != 0 || r.Counts.Read != 0 {
					t.Errorf("%s: an update with nothing changed read %d and wrote %d", r.Entity, r.Counts.Read, r.Counts.Indexed)
				}
				m, _ := erp.Model(r.Entity)
				if mode == activities.ChildStamps && r.Counts.Requests != len(m.Collections()) {
					t.Errorf("%s: %d ERP requests, want one per collection of the model (%d)", r.Entity, r.Counts.Requests, len(m.Collections()))
				}
			}
		}
	})
}

// key builds an OData key segment: key("usmf", "ItemNumber", "1000") = (dataAreaId='usmf',ItemNumber='1000').
func key(company string, kv ...string) string {
	parts := []string{"dataAreaId='" + company + "'"}
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"='"+strings.ReplaceAll(kv[i+1], "'", "''")+"'")
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// detections are the two ways of finding changes, each against a simulator that behaves like the
// ERP it is for: with an add-on that bumps roots and logs deletes, and stock D365.
var detections = []struct {
	mode activities.Detection
	erp  store.Behaviour
}{
	{activities.ParentStamps, store.Behaviour{}},
	{activities.ChildStamps, store.Behaviour{NoBumps: true, NoDeletionLog: true}},
}

// inEachMode runs test as a parallel subtest in each change detection mode, against a simulator
// playing the ERP that mode is for.
func inEachMode(t *testing.T, test func(t *testing.T, mode activities.Detection, behaviour store.Behaviour)) {
	t.Helper()
	for _, d := range detections {
		t.Run(string(d.mode), func(t *testing.T) {
			t.Parallel()
			test(t, d.mode, d.erp)
		})
	}
}

// TestUpdateSeesEveryKindOfChange: after a rebuild, one edit of each entity kind of the source
// document (and deletes of roots and children) reaches the index: with an ERP add-on, with one
// update run; with stock D365, with one update run, one audit (deleted children) and one
// reconcile (deleted roots).
func TestUpdateSeesEveryKindOfChange(t *testing.T) {
	t.Parallel()
	inEachMode(t, updateSeesEveryKindOfChange)
}

func updateSeesEveryKindOfChange(t *testing.T, mode activities.Detection, behaviour store.Behaviour) {
	cat := simtest.Catalog(13)
	cat.SalesReps = 24 // several sales groups per company
	s := newStack(t, cat, erpsim.Config{Behaviour: behaviour}, activities.Settings{PageSize: 50, SafetyLag: time.Second, Detection: mode})
	s.run(workflows.ProductImportName, activities.Rebuild)
	s.run(workflows.CustomerImportName, activities.Rebuild)
	e := s.erp

	// Products: the product itself and every child kind.
	master := e.First(t, "ReleasedProductsV2", "dataAreaId eq 'usmf' and ProductSubType eq 'ProductMaster'")
	item := master.S("ItemNumber")
	e.Write(t, "PATCH", "ReleasedProductsV2"+key("usmf", "ItemNumber", item), map[string]any{"ProductName": "Renamed master"})
	dv := e.First(t, "ProductMasterDimensionValues", "dataAreaId eq 'demf'")
	e.Write(t, "PATCH", "ProductMasterDimensionValues"+key("demf", "ProductMasterNumber", dv.S("ProductMasterNumber"), "ProductDimension", dv.S("ProductDimension"), "DimensionValueId", dv.S("DimensionValueId")), map[string]any{"Description": "Changed colour"})
	v := e.First(t, "ReleasedProductVariantsV2", "dataAreaId eq 'gbsi'")
	e.Write(t, "DELETE", "ReleasedProductVariantsV2"+key("gbsi", "ItemNumber", v.S("ItemNumber"), "ProductColorId", v.S("ProductColorId"),
		"ProductConfigurationId", v.S("ProductConfigurationId"), "ProductSizeId", v.S("ProductSizeId"), "ProductStyleId", v.S("ProductStyleId")), nil)
	tr := e.First(t, "ProductTranslations", "dataAreaId eq 'usmf' and LanguageId eq 'de'")
	e.Write(t, "PATCH", "ProductTranslations"+key("usmf", "ItemNumber", tr.S("ItemNumber"), "LanguageId", "de"), map[string]any{"ProductName": "Neuer Name"})
	at := e.First(t, "ProductAttachments", "dataAreaId eq 'usmf'")
	e.Write(t, "DELETE", "ProductAttachments"+key("usmf", "ItemNumber", at.S("ItemNumber"), "AttachmentId", at.S("AttachmentId")), nil)
	category := e.First(t, "ProductCategories", "dataAreaId eq 'demf' and IsVisibleInWebshop eq 'Yes' and ParentCategoryId ne ''")
	e.Write(t, "PATCH", "ProductCategories"+key("demf", "CategoryId", category.S("CategoryId")), map[string]any{"IsVisibleInWebshop": "No"})
	as := e.First(t, "ProductCategoryAssignments", "dataAreaId eq 'gbsi'")
	e.Write(t, "DELETE", "ProductCategoryAssignments"+key("gbsi", "ItemNumber", as.S("ItemNumber"), "CategoryId", as.S("CategoryId")), nil)
	other := e.First(t, "ReleasedProductsV2", "dataAreaId eq 'usmf' and ItemNumber ne '"+item+"'")
	e.Write(t, "POST", "RelatedProducts", map[string]any{"dataAreaId": "usmf", "ItemNumber": item, "RelatedItemNumber": other.S("ItemNumber"), "RelationType": "UpSell", "DisplayOrder": 9})
	bc := e.First(t, "ProductBarcodes", "dataAreaId eq 'usmf'")
	e.Write(t, "PATCH", "ProductBarcodes"+key("usmf", "Barcode", bc.S("Barcode")), map[string]any{"IsDefaultScannedBarcode": "No"})
	e.Write(t, "DELETE", "ProductBarcodes"+key("usmf", "Barcode", bc.S("Barcode")), nil)
	os := e.First(t, "ItemDefaultOrderSettings", "dataAreaId eq 'demf' and IsSalesStopped eq 'No'")
	e.Write(t, "PATCH", "ItemDefaultOrderSettings"+key("demf", "ItemNumber", os.S("ItemNumber")), map[string]any{"IsSalesStopped": "Yes", "SalesMinimumQuantity": 3})
	pr := e.First(t, "SalesPriceAgreements", "dataAreaId eq 'usmf' and ItemCode eq 'Table'")
	e.Write(t, "PATCH", "SalesPriceAgreements(dataAreaId='usmf',RecordId="+pr.S("RecordId")+")", map[string]any{"Price": 12.34})
	all := e.First(t, "SalesLineDiscountAgreements", "dataAreaId eq 'gbsi' and ItemCode eq 'All'")
	e.Write(t, "PATCH", "SalesLineDiscountAgreements(dataAreaId='gbsi',RecordId="+all.S("RecordId")+")", map[string]any{"DiscountPercentage1": 1.5})
	gone := e.First(t, "ReleasedProductsV2", "dataAreaId eq 'demf'")
	e.Write(t, "DELETE", "ReleasedProductsV2"+key("demf", "ItemNumber", gone.S("ItemNumber")), nil)
	// Unit conversions belong to the shared product (no company): an edit, a delete and a new one
	// each reach the product's release in every company.
	conversion := func(r row) string {
		return fmt.Sprintf("ProductUnitOfMeasureConversions(FromUnitSymbol='%s',ToUnitSymbol='%s',ProductNumber='%s')",
			r.S("FromUnitSymbol"), r.S("ToUnitSymbol"), r.S("ProductNumber"))
	}
	pallet := e.First(t, "ProductUnitOfMeasureConversions", "FromUnitSymbol eq 'pallet'")
	e.Write(t, "PATCH", conversion(pallet), map[string]any{"Factor": 500, "Rounding": "Down"})
	box := e.First(t, "ProductUnitOfMeasureConversions", "FromUnitSymbol eq 'box' and ProductNumber ne '"+pallet.S("ProductNumber")+"'")
	e.Write(t, "DELETE", conversion(box), nil)
	boxReleases := 0
	for _, p := range e.All(t, "ReleasedProductsV2") {
		if p.S("ProductNumber") == box.S("ProductNumber") {
			boxReleases++
		}
	}
	e.Write(t, "POST", "ProductUnitOfMeasureConversions", map[string]any{"FromUnitSymbol": "dozen", "ToUnitSymbol": master.S("SalesUnitSymbol"),
		"ProductNumber": master.S("ProductNumber"), "Factor": 12})

	// Customers, contacts, sales representatives.
	cust := e.First(t, "CustomersV3", "dataAreaId eq 'usmf' and CommissionSalesGroupId ne ''")
	e.Write(t, "PATCH", "CustomersV3"+key("usmf", "CustomerAccount", cust.S("CustomerAccount")), map[string]any{"OrganizationName": "Renamed Ltd", "OnHoldStatus": "All"})
	addr := e.First(t, "CustomerPostalAddresses", "dataAreaId eq 'demf'")
	e.Write(t, "PATCH", "CustomerPostalAddresses"+key("demf", "CustomerAccount", addr.S("CustomerAccount"), "AddressLocationId", addr.S("AddressLocationId")), map[string]any{"AddressCity": "Neustadt"})
	// Another customer changes sales group: the representatives of both groups change.
	moved := e.First(t, "CustomersV3", "dataAreaId eq 'usmf' and CommissionSalesGroupId ne '' and CustomerAccount ne '"+cust.S("CustomerAccount")+"'")
	group := e.First(t, "CommissionSalesGroups", "dataAreaId eq 'usmf' and GroupId ne '"+moved.S("CommissionSalesGroupId")+"'")
	e.Write(t, "PATCH", "CustomersV3"+key("usmf", "CustomerAccount", moved.S("CustomerAccount")), map[string]any{"CommissionSalesGroupId": group.S("GroupId")})
	ct := e.First(t, "ContactPersonsV2", "dataAreaId eq 'gbsi'")
	e.Write(t, "PATCH", "ContactPersonsV2"+key("gbsi", "ContactPersonId", ct.S("ContactPersonId")), map[string]any{"LastName": "Smith-Jones"})
	goneContact := e.First(t, "ContactPersonsV2", "dataAreaId eq 'usmf'")
	e.Write(t, "DELETE", "ContactPersonsV2"+key("usmf", "ContactPersonId", goneContact.S("ContactPersonId")), nil)
	rep := e.First(t, "SalesRepresentatives", "dataAreaId eq 'usmf'")
	e.Write(t, "PATCH", "SalesRepresentatives"+key("usmf", "PersonnelNumber", rep.S("PersonnelNumber")), map[string]any{"Name": "Renamed Rep"})
	mem := e.First(t, "CommissionSalesRepresentatives", "dataAreaId eq 'demf'")
	e.Write(t, "DELETE", "CommissionSalesRepresentatives"+key("demf", "GroupId", mem.S("GroupId"), "PersonnelNumber", mem.S("PersonnelNumber")), nil)

	// The update runs start after the safety lag has passed for these edits.
	s.pastSafetyLag()
	p := s.run(workflows.ProductImportName, activities.Update).Of(erp.Products).Counts
	c := s.run(workflows.CustomerImportName, activities.Update)
	t.Logf("update: products %+v", p)
	for _, r := range c.Entities {
		t.Logf("update: %s %+v", r.Entity, r.Counts)
	}
	// The unit conversions' changes are in the index after the update run, in every company's
	// release of their product: the edit and the new one in both modes, the delete where an
	// add-on stamps the products (stock D365 shows no deletes: the audit's, below).
	docs := s.docs(erp.Products)
	seen := map[string]int{}
	for _, p := range e.All(t, "ReleasedProductsV2") {
		src, ok := docs[idOf(p.S("dataAreaId"), p.S("ItemNumber"))]
		if !ok {
			continue
		}
		var d struct {
			UnitConversions []struct{ From, Factor, Rounding string } `json:"unit_conversions"`
		}
		if err := json.Unmarshal(src, &d); err != nil {
			t.Fatal(err)
		}
		has := func(from, factor, rounding string) bool {
			for _, c := range d.UnitConversions {
				if c.From == from && c.Factor == factor && c.Rounding == rounding {
					return true
				}
			}
			return false
		}
		number := p.S("ProductNumber")
		check := func(what string, ok bool) {
			seen[what]++
			if !ok {
				t.Errorf("after the update, %s:%s (product %s) shows unit conversions %+v: %s", p.S("dataAreaId"), p.S("ItemNumber"), number, d.UnitConversions, what)
			}
		}
		if number == pallet.S("ProductNumber") {
			check("the edited pallet, 500 rounded down", has("pallet", "500", "Down"))
		}
		if number == master.S("ProductNumber") {
			check("the new dozen of 12", has("dozen", "12", "Nearest"))
		}
		if number == box.S("ProductNumber") && mode == activities.ParentStamps {
			check("the box deleted", !has("box", dec(t, box, "Factor"), box.S("Rounding")))
		}
	}
	t.Logf("unit conversions after the update: %v releases checked", seen)
	if seen["the edited pallet, 500 rounded down"] < 2 || seen["the new dozen of 12"] == 0 {
		t.Errorf("releases with the changed unit conversions: %v, want the pallet's product in two companies or more", seen)
	}
	if mode == activities.ChildStamps {
		// Stock D365 shows no deletes: the audit repairs the roots whose children were deleted
		// (a variant, an attachment, a category assignment, a membership), the reconcile run
		// removes the deleted product and contact.
		if p.Deleted != 0 {
			t.Errorf("products deleted by the update: %d, want 0 (stock D365 shows no deletes)", p.Deleted)
		}
		pa := s.run(workflows.ProductImportName, activities.Audit).Of(erp.Products).Counts
		ca := s.run(workflows.CustomerImportName, activities.Audit)
		t.Logf("audit: products %+v", pa)
		// A deleted variant, attachment and category assignment: up to three products, and a
		// deleted unit conversion: every release of its product; fewer when one of them was also
		// edited (the update rewrote it then).
		if pa.Repaired < 1 || pa.Repaired > 3+boxReleases {
			t.Errorf("audit repaired %d products, want 1 to %d (a deleted variant, attachment, category assignment and unit conversion of %d releases)",
				pa.Repaired, 3+boxReleases, boxReleases)
		}
		var reps activities.Counts
		for _, r := range ca.Entities {
			t.Logf("audit: %s %+v", r.Entity, r.Counts)
			if r.Entity == erp.SalesReps {
				reps = r.Counts
			}
		}
		if reps.Repaired != 1 {
			t.Errorf("audit repaired %d sales representatives, want 1 (a deleted membership)", reps.Repaired)
		}
		rp := s.run(workflows.ProductImportName, activities.Reconcile).Of(erp.Products).Counts
		rc := s.run(workflows.CustomerImportName, activities.Reconcile)
		p.Deleted = rp.Deleted
		for _, r := range rc.Entities {
			if r.Entity == erp.Contacts && r.Counts.Deleted != 1 {
				t.Errorf("contacts deleted by reconcile: %d, want 1", r.Counts.Deleted)
			}
		}
	}
	if p.Deleted != 1 {
		t.Errorf("products deleted: %d, want 1", p.Deleted)
	}
	s.checkProducts()
	s.checkCustomers()
}
