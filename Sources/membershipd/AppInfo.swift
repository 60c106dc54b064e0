/// Facts from `app.md` (a test keeps them equal).
enum AppInfo {
    static let name = "unibus"
    static let version = "0.1.0"
}
