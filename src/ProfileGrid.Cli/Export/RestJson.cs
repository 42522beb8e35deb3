using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ProfileGrid.Cli.Export;

/// <summary>
/// A message as the grid's REST routes write it: proto3 JSON (lowerCamelCase, default values included), except that
/// 64-bit integers are JSON numbers, as JSON transcoding writes them, where Google's formatter writes strings. pandas
/// and jq then read <c>eventsApplied</c> or <c>orders</c> of an export as the numbers a REST read gives.
/// </summary>
internal static class RestJson
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    // Text as written (ü, not \u00FC), as the REST answers and the segments' JSONL write it.
    private static readonly System.Text.Json.JsonSerializerOptions WriteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Format(IMessage message)
    {
        var node = JsonNode.Parse(Formatter.Format(message))!;
        NumbersFor(node, message.Descriptor);
        return node.ToJsonString(WriteOptions);
    }

    private static void NumbersFor(JsonNode node, MessageDescriptor descriptor)
    {
        if (node is not JsonObject json)
        {
            return;
        }

        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (json[field.JsonName] is not { } value)
            {
                continue;
            }

            if (field.IsMap)
            {
                var valueField = field.MessageType.FindFieldByNumber(2);
                var map = value.AsObject();
                foreach (var key in map.Select(entry => entry.Key).ToList())
                {
                    if (Number(map[key], valueField) is { } number)
                    {
                        map[key] = number;
                    }
                }
            }
            else if (field.IsRepeated)
            {
                var items = value.AsArray();
                for (var i = 0; i < items.Count; i++)
                {
                    if (Number(items[i], field) is { } number)
                    {
                        items[i] = number;
                    }
                }
            }
            else if (Number(value, field) is { } number)
            {
                json[field.JsonName] = number;
            }
        }
    }

    /// <summary>A 64-bit integer's string as a number; null when the value stays (a message's own 64-bit fields are converted in place).</summary>
    private static JsonNode? Number(JsonNode? value, FieldDescriptor field)
    {
        switch (field.FieldType)
        {
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 when value is JsonValue text && text.TryGetValue<string>(out var signed):
                return JsonValue.Create(long.Parse(signed, System.Globalization.CultureInfo.InvariantCulture));
            case FieldType.UInt64 or FieldType.Fixed64 when value is JsonValue text && text.TryGetValue<string>(out var unsigned):
                return JsonValue.Create(ulong.Parse(unsigned, System.Globalization.CultureInfo.InvariantCulture));
            case FieldType.Message when value is not null && field.MessageType.File.Package != "google.protobuf":
                NumbersFor(value, field.MessageType);
                return null;
            default:
                return null;
        }
    }
}
