/// Placeholder: the Reed-Solomon codec over ISA-L lands here.
enum TCSplitterFECPlaceholder {}
