/// The toolkit's version, as `welfare --version` prints it and runs record it.
public enum WelfareVersion {
    public static let current = "0.2.0"
}
