/// A parsed JSON text: the source string and a tape of `JSONNode`s, the root at index 0.
///
/// Built by `JSONParser`, read by `JSONTreeDecoder`. Strings without escapes and numbers are
/// converted from the source only when asked for, so fields a decoder never reads cost
/// nothing beyond the parse.
final class JSONDocument {
    /// The text, kept to convert strings and numbers on demand (native UTF-8 storage, so
    /// UTF-8 offsets are O(1) indices).
    let source: String
    /// The nodes in document order.
    let nodes: [JSONNode]
    /// The text of every string that contained escapes, indexed by such nodes' `payload`.
    let unescapedStrings: [String]

    init(source: String, nodes: [JSONNode], unescapedStrings: [String]) {
        self.source = source
        self.nodes = nodes
        self.unescapedStrings = unescapedStrings
    }

    /// The node at `index`.
    @inline(__always)
    subscript(index: Int) -> JSONNode { nodes[index] }

    /// The string at `index`, or nil if that node is not a string.
    func string(at index: Int) -> String? {
        let node = nodes[index]
        guard node.kind == .string else { return nil }
        if node.flags & JSONNode.Flags.escaped != 0 { return unescapedStrings[Int(node.payload)] }
        return String(Substring(sourceBytes(node.start, node.end)))
    }

    /// The source text of the number or string at `index` (a string's without its quotes).
    func text(at index: Int) -> String {
        let node = nodes[index]
        return String(Substring(sourceBytes(node.start, node.end)))
    }

    /// The value of the first member of the object at `object` whose key is `name`, or nil.
    /// The first wins when keys repeat, as in Foundation's `JSONDecoder`.
    func member(named name: String, in object: Int) -> Int? {
        member(JSONKey(name), in: object)
    }

    /// The value of the first member of the object at `object` whose key is `key`, or nil.
    func member(_ key: JSONKey, in object: Int) -> Int? {
        var keyIndex = object + 1
        for _ in 0..<nodes[object].start {
            let node = nodes[keyIndex]
            if node.flags & JSONNode.Flags.escaped == 0 {
                if node.payload == key.prefix, node.end - node.start == key.length,
                    key.length <= 8 || sourceBytes(node.start + 8, node.end).elementsEqual(key.name.utf8.dropFirst(8))
                {
                    return keyIndex + 1
                }
            } else if unescapedStrings[Int(node.payload)] == key.name {
                return keyIndex + 1
            }
            keyIndex = nodes[keyIndex + 1].next(after: keyIndex + 1)
        }
        return nil
    }

    /// The keys of the object at `object`, each once, in document order.
    func keys(of object: Int) -> [String] {
        var keys: [String] = []
        var keyIndex = object + 1
        for _ in 0..<nodes[object].start {
            if let key = string(at: keyIndex), !keys.contains(key) { keys.append(key) }
            keyIndex = nodes[keyIndex + 1].next(after: keyIndex + 1)
        }
        return keys
    }

    private func sourceBytes(_ start: Int, _ end: Int) -> Substring.UTF8View {
        let utf8 = source.utf8
        return utf8[utf8.index(utf8.startIndex, offsetBy: start)..<utf8.index(utf8.startIndex, offsetBy: end)]
    }
}
