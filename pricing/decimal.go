package pricing

import (
	"fmt"
	"math/big"

	"github.com/erpsync/erpsync/erp"
)

// Exact decimal arithmetic for the engine: every value is a big.Rat made from decimal text, and
// results are written back as canonical decimal text. Sums, differences and products of
// decimals are decimals, so nothing is ever rounded.

var (
	ratZero    = new(big.Rat)
	ratOne     = big.NewRat(1, 1)
	ratHundred = big.NewRat(100, 1)
)

// rat parses d; the zero value and "" are zero.
func rat(d erp.Decimal) (*big.Rat, error) {
	c, err := erp.ParseDecimal(d.String())
	if err != nil {
		return nil, err
	}
	r, ok := new(big.Rat).SetString(c.String())
	if !ok {
		return nil, fmt.Errorf("%q is not a decimal", string(d))
	}
	return r, nil
}

// decimal writes r, which must have a finite decimal expansion, as canonical text.
func decimal(r *big.Rat) erp.Decimal {
	if r.IsInt() {
		return erp.Decimal(r.Num().String())
	}
	// The denominator of a finite decimal divides 10^k for k = max(twos, fives).
	den := new(big.Int).Set(r.Denom())
	k := 0
	for _, p := range []int64{2, 5} {
		n, q, m := 0, new(big.Int).Set(den), new(big.Int)
		for {
			q2, m2 := new(big.Int).QuoRem(q, big.NewInt(p), m)
			if m2.Sign() != 0 {
				break
			}
			q, n = q2, n+1
		}
		k = max(k, n)
	}
	d, err := erp.ParseDecimal(r.FloatString(k))
	if err != nil {
		panic(err) // FloatString always writes a decimal
	}
	return d
}

func sub(a, b *big.Rat) *big.Rat { return new(big.Rat).Sub(a, b) }
func mul(a, b *big.Rat) *big.Rat { return new(big.Rat).Mul(a, b) }
func add(a, b *big.Rat) *big.Rat { return new(big.Rat).Add(a, b) }

// keepOf returns the share a percentage leaves: 1 - p/100.
func keepOf(p *big.Rat) *big.Rat { return sub(ratOne, new(big.Rat).Quo(p, ratHundred)) }
