//! A compact table of tensor descriptions, shared by the GGUF and
//! safetensors readers: every name in one string, every shape in one
//! LEB128 byte arena, and a few fixed-width columns.
//!
//! Why: a table of `TensorSpec`s (two heap blocks a tensor, with their
//! allocator headers) costs ~230 bytes a tensor, four times what a hostile
//! header spends on one (a 100 MB safetensors header holds 1.7 M tensors).
//! Here a tensor costs 21 bytes plus its name and its dimensions (one byte
//! for a small one). A GGUF tensor info spends 24 bytes besides its name
//! and dimensions (8 a dimension), a safetensors entry at least 45 (and a
//! decimal number never has fewer digits than its LEB128 has bytes), so
//! **the table does not outgrow the header it describes** (only a GGUF
//! dimension of 2⁵⁶ or more takes 9 or 10 bytes where the file spends 8).
//! `TensorSpec`s are made on demand.

/// Strings kept one after another in one `String`, with their ends, and a
/// name-order index made by [`Names::seal`]: 8 bytes a name beside its
/// bytes, where a `String` each costs 24 plus an allocation.
#[derive(Debug, Default)]
pub struct Names {
    text: String,
    ends: Vec<u32>,
    by_name: Vec<u32>,
}

impl Names {
    /// Appends a name.
    pub fn push(&mut self, name: &str) -> Result<(), TableFull> {
        if self.ends.len() >= u32::MAX as usize {
            return Err(TableFull);
        }
        self.text.push_str(name);
        self.ends.push(end_of(self.text.len())?);
        Ok(())
    }

    /// Returns the number of names.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Returns whether there are no names.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Returns name `row`.
    pub fn get(&self, row: usize) -> &str {
        &self.text[start(&self.ends, row)..self.ends[row] as usize]
    }

    /// Gives back spare capacity and sorts the name index.
    /// `Err((first, second))` names two rows of the same name.
    pub fn seal(&mut self) -> Result<(), (usize, usize)> {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        let mut by_name: Vec<u32> = (0..self.ends.len() as u32).collect();
        // Unstable: a stable sort would allocate half the index again.
        by_name.sort_unstable_by(|&a, &b| self.get(a as usize).cmp(self.get(b as usize)));
        let duplicate = by_name
            .windows(2)
            .find(|pair| self.get(pair[0] as usize) == self.get(pair[1] as usize))
            .map(|pair| (pair[0].min(pair[1]) as usize, pair[0].max(pair[1]) as usize));
        if let Some(rows) = duplicate {
            return Err(rows);
        }
        self.by_name = by_name;
        Ok(())
    }

    /// Returns the row of `name` (after [`Self::seal`]).
    pub fn find(&self, name: &str) -> Option<usize> {
        let at = self
            .by_name
            .binary_search_by(|&row| self.get(row as usize).cmp(name))
            .ok()?;
        Some(self.by_name[at] as usize)
    }

    /// Returns the heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + 4 * (self.ends.capacity() + self.by_name.capacity())
    }
}

/// Names, shapes, type codes and data offsets of a file's tensors, in the
/// order they were pushed, with a name index made by [`TensorTable::seal`].
#[derive(Debug, Default)]
pub struct TensorTable {
    names: Names,
    /// Every dimension (outermost first) as unsigned LEB128.
    dims: Vec<u8>,
    /// Where each tensor's dimensions end in `dims`.
    dim_ends: Vec<u32>,
    /// The format's type code of each tensor (a ggml type id, a dtype index).
    codes: Vec<u8>,
    /// Each tensor's data offset, as the format counts it.
    offsets: Vec<u64>,
}

/// The table would pass 4 GiB of names or dimensions, or 2³² tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFull;

impl TensorTable {
    /// Appends a tensor. Its name index is made by [`Self::seal`].
    pub fn push(
        &mut self,
        name: &str,
        shape: &[u64],
        code: u8,
        offset: u64,
    ) -> Result<(), TableFull> {
        for &dimension in shape {
            leb128::write::unsigned(&mut self.dims, dimension)
                .expect("writing to a Vec cannot fail");
        }
        self.dim_ends.push(end_of(self.dims.len())?);
        self.names.push(name)?;
        self.codes.push(code);
        self.offsets.push(offset);
        Ok(())
    }

    /// Gives back the columns' spare capacity and sorts the name index.
    /// `Err((first, second))` names two rows of the same name.
    pub fn seal(&mut self) -> Result<(), (usize, usize)> {
        self.dims.shrink_to_fit();
        self.dim_ends.shrink_to_fit();
        self.codes.shrink_to_fit();
        self.offsets.shrink_to_fit();
        self.names.seal()
    }

    /// Returns the number of tensors.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Returns whether the table has no tensors.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Returns the name of row `row`.
    pub fn name(&self, row: usize) -> &str {
        self.names.get(row)
    }

    /// Returns the dimensions of row `row`, outermost first.
    pub fn shape(&self, row: usize) -> Vec<u64> {
        let mut bytes = &self.dims[start(&self.dim_ends, row)..self.dim_ends[row] as usize];
        let mut shape = Vec::new();
        while !bytes.is_empty() {
            let dimension =
                leb128::read::unsigned(&mut bytes).expect("the table holds only what push wrote");
            shape.push(dimension);
        }
        shape
    }

    /// Returns the element count of row `row`, or `None` when it overflows.
    pub fn element_count(&self, row: usize) -> Option<u64> {
        self.shape(row)
            .into_iter()
            .try_fold(1u64, |count, dimension| count.checked_mul(dimension))
    }

    /// Returns the type code of row `row`.
    pub fn code(&self, row: usize) -> u8 {
        self.codes[row]
    }

    /// Returns the data offset of row `row`.
    pub fn offset(&self, row: usize) -> u64 {
        self.offsets[row]
    }

    /// Returns the row named `name` (after [`Self::seal`]).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.find(name)
    }

    /// Returns the heap bytes the table holds, for the tests that bound it.
    pub fn heap_bytes(&self) -> usize {
        self.names.heap_bytes()
            + self.dims.capacity()
            + 4 * self.dim_ends.capacity()
            + self.codes.capacity()
            + 8 * self.offsets.capacity()
    }
}

fn end_of(length: usize) -> Result<u32, TableFull> {
    u32::try_from(length).map_err(|_| TableFull)
}

fn start(ends: &[u32], row: usize) -> usize {
    if row == 0 { 0 } else { ends[row - 1] as usize }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_pushed_and_by_name() {
        let mut table = TensorTable::default();
        table.push("b", &[3, 300, 0], 7, 64).unwrap();
        table.push("a", &[], 1, 0).unwrap();
        table.push("c", &[u64::MAX], 2, 9).unwrap();
        table.seal().unwrap();
        assert_eq!(table.len(), 3);
        assert_eq!(
            (
                table.name(0),
                table.shape(0),
                table.code(0),
                table.offset(0)
            ),
            ("b", vec![3, 300, 0], 7, 64)
        );
        assert_eq!(table.shape(1), Vec::<u64>::new());
        assert_eq!(table.element_count(1), Some(1));
        assert_eq!(table.shape(2), vec![u64::MAX]);
        assert_eq!(table.find("a"), Some(1));
        assert_eq!(table.find("c"), Some(2));
        assert_eq!(table.find("d"), None);
    }

    #[test]
    fn seal_names_both_rows_of_a_duplicate() {
        let mut table = TensorTable::default();
        for name in ["x", "y", "z", "y"] {
            table.push(name, &[1], 0, 0).unwrap();
        }
        assert_eq!(table.seal(), Err((1, 3)));
    }

    #[test]
    fn a_small_tensor_costs_21_bytes_beside_its_name_and_dimensions() {
        let mut table = TensorTable::default();
        let count = 10_000;
        for row in 0..count {
            table.push(&format!("t{row:05}"), &[0], 0, 0).unwrap();
        }
        table.seal().unwrap();
        let per_tensor = table.heap_bytes() as f64 / count as f64;
        // 6 name bytes, 1 dimension byte, 4 + 4 + 4 ends and index, 1 code, 8 offset.
        assert!(
            (28.0..29.0).contains(&per_tensor),
            "{per_tensor} bytes a tensor"
        );
    }
}
