//! Input: readers for every table of SPEC §1 (CSV and Excel) and their validation.
