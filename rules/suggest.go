package rules

import "strings"

// Suggest returns the candidate closest to word, for a "did you mean"
// hint, or "" when none is close. A candidate is close when its edit
// (Levenshtein) distance from word is at most 3 and smaller than word's
// length, or when one is a prefix of the other. The comparison ignores
// case; the smallest distance wins, ties go to the earlier candidate.
func Suggest(word string, candidates []string) string {
	w := strings.ToLower(word)
	if w == "" {
		return ""
	}
	best, bestD := "", -1
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if lc == w {
			return c
		}
		d := levenshtein(w, lc)
		near := d <= 3 && d < len(w)
		if !near && (strings.HasPrefix(lc, w) || strings.HasPrefix(w, lc)) && len(lc) > 1 {
			near = true
		}
		if near && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b, counted in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
