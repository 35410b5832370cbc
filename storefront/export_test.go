package storefront

// HitSource exposes the source fields of a result card to the benchmark, which measures their
// bytes per hit.
var HitSource = hitSource

// PerUnit exposes how a product page states a unit conversion, for its table test.
var PerUnit = perUnit
