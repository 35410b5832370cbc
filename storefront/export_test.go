package storefront

// HitSource exposes the source fields of a result card to the benchmark, which measures their
// bytes per hit.
var HitSource = hitSource
