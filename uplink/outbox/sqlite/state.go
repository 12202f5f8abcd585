package sqlite

// noteSeq records that ticket seqs up to seq are assigned.
func (s *Store) noteSeq(seq uint64) {}
