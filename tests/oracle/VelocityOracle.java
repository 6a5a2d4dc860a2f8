// Renders templates with Apache Velocity 1.7 (the engine API Gateway's mapping templates follow),
// as the reference for tests/test_vtl_java.py. For each CASE.vtl in the directory given, reads
// CASE.properties (path.*, querystring.*, header.*, stage.* values) when present and writes the
// rendered body to CASE.out and the request header overrides to CASE.headers (name=value lines).
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import org.apache.commons.lang.StringEscapeUtils;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;

public class VelocityOracle {
    public static class Input {
        private final Map<String, Map<String, String>> params;
        Input(Map<String, Map<String, String>> params) { this.params = params; }
        public Object params() { return params; }
        public String params(String name) {
            for (String kind : new String[] {"path", "querystring", "header"}) {
                String value = params.get(kind).get(name);
                if (value != null) return value;
            }
            return "";
        }
    }

    public static class Util {
        public String escapeJavaScript(String text) { return StringEscapeUtils.escapeJavaScript(text); }
        public Object parseJson(String text) {
            try { return Integer.valueOf(text.trim()); }
            catch (NumberFormatException notInt) { return Double.valueOf(text.trim()); }
        }
    }

    public static void main(String[] args) throws Exception {
        VelocityEngine engine = new VelocityEngine();
        engine.setProperty("runtime.log.logsystem.class", "org.apache.velocity.runtime.log.NullLogChute");
        engine.init();
        File[] templates = new File(args[0]).listFiles((dir, name) -> name.endsWith(".vtl"));
        Arrays.sort(templates);
        for (File template : templates) {
            String name = template.getName().replaceAll("\\.vtl$", "");
            Path base = template.toPath().resolveSibling(name);
            try {
                render(engine, template.toPath(), base);
            } catch (RuntimeException failure) {  // one bad case must not hide the others
                Files.write(Paths.get(base + ".out"), ("VELOCITY ERROR: " + failure).getBytes(StandardCharsets.UTF_8));
                Files.write(Paths.get(base + ".headers"), new byte[0]);
            }
        }
    }

    static void render(VelocityEngine engine, Path template, Path base) throws IOException {
        Map<String, Map<String, String>> params = new HashMap<>();
        for (String kind : new String[] {"path", "querystring", "header", "stage"}) params.put(kind, new HashMap<>());
        Path properties = Paths.get(base + ".properties");
        if (Files.exists(properties)) {
            Properties values = new Properties();
            try (Reader reader = Files.newBufferedReader(properties, StandardCharsets.UTF_8)) { values.load(reader); }
            for (String key : values.stringPropertyNames()) {
                int dot = key.indexOf('.');
                params.get(key.substring(0, dot)).put(key.substring(dot + 1), values.getProperty(key));
            }
        }
        Map<String, Object> headerOverrides = new LinkedHashMap<>();
        Map<String, Object> requestOverride = new HashMap<>();
        requestOverride.put("header", headerOverrides);
        Map<String, Object> context = new HashMap<>();
        context.put("requestOverride", requestOverride);
        VelocityContext velocity = new VelocityContext();
        velocity.put("input", new Input(params));
        velocity.put("util", new Util());
        velocity.put("stageVariables", params.get("stage"));
        velocity.put("context", context);
        StringWriter out = new StringWriter();
        String source = new String(Files.readAllBytes(template), StandardCharsets.UTF_8);
        engine.evaluate(velocity, out, template.getFileName().toString(), source);
        Files.write(Paths.get(base + ".out"), out.toString().getBytes(StandardCharsets.UTF_8));
        StringBuilder headers = new StringBuilder();
        for (Map.Entry<String, Object> entry : headerOverrides.entrySet()) {
            headers.append(entry.getKey()).append('=').append(entry.getValue()).append('\n');
        }
        Files.write(Paths.get(base + ".headers"), headers.toString().getBytes(StandardCharsets.UTF_8));
    }
}
