/*
 * TEST ONLY. An AWS SDK for Java v2 execution interceptor that sends every call the Attini CLI
 * makes to AWS_ENDPOINT_URL (the local AWS API emulator), which the SDK version inside attini
 * (2.20.42) ignores. S3's virtual-host requests (<bucket>.s3.<region>.amazonaws.com/<key>) become
 * path-style ones (<endpoint>/<bucket>/<key>). Requests are signed after this runs, with the
 * original service and region, which is how the emulator tells the services apart.
 *
 * It is registered per service (software/amazon/awssdk/services/<service>/execution.interceptors,
 * written by scripts/ensure-attini.sh for each name in ./services): a global interceptor runs
 * before the service's own endpoint setter, which would put the AWS host back. Without
 * AWS_ENDPOINT_URL it changes nothing. Only tests and the demo put it on attini's classpath.
 */
package attinigitops.emulator;

import java.net.URI;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpRequest;

public final class EmulatorEndpoint implements ExecutionInterceptor {
    private static final Pattern S3_VIRTUAL_HOST = Pattern.compile("^(.+)\\.s3[.-](?:[a-z0-9-]+\\.)?amazonaws\\.com(?:\\.cn)?$");

    @Override
    public SdkHttpRequest modifyHttpRequest(Context.ModifyHttpRequest context, ExecutionAttributes executionAttributes) {
        SdkHttpRequest request = context.httpRequest();
        String endpoint = System.getenv("AWS_ENDPOINT_URL");
        if (endpoint == null || endpoint.isEmpty()) {
            return request;
        }
        URI target = URI.create(endpoint);
        String path = request.encodedPath();
        Matcher bucket = S3_VIRTUAL_HOST.matcher(request.host());
        if (bucket.matches()) {
            path = "/" + bucket.group(1) + (path == null || path.isEmpty() ? "/" : path);
        }
        return request.toBuilder()
                .protocol(target.getScheme())
                .host(target.getHost())
                .port(target.getPort())
                .encodedPath(path)
                .build();
    }
}
