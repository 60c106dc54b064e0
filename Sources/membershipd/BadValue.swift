/// A flag's value membershipd refuses (out of range, a name it cannot take): exit 1, the
/// contract's "bad value", where ArgumentParser's `ValidationError` would be usage (exit 2).
struct BadValue: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
