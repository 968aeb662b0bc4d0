/// The version of this Tokenwire build: `tokenwire --version`, and the client's
/// `user-agent` (`tokenwire-swift/<version>`).
public enum TokenwireVersion {
    public static let current = "0.3.0"
}
